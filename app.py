"""Example app: publish a small demo layer and share it with an account and an organization, with a pointer that
tells them which version to use, and share a layer version from another region with an account.

    npx cdk synth                                  # or: .venv/bin/python app.py
    npx cdk synth -c demo_layer_arn=arn:aws:lambda:eu-west-1:123456789012:layer:demo:1

Optional context values:
- demo_layer_arn: an existing layer version ARN to share instead of publishing the demo layer, for example
  one published in a local stand-in to try the grants before a deploy.
- tools_layer_arn: the layer version in another region that the stack shares; the default is a placeholder,
  so deploy with a layer version of your own.
- tools_partner_account: the account the tools layer version is shared with (default: the partner account).

The pointer is an advanced SSM parameter (billed monthly) holding the demo layer version's ARN, shared through AWS
RAM with the same account and organization; consumers read it with `SharedLayer.latest`.

Every synth runs cdk-nag's AwsSolutions checks, which fail the synth on any finding.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, App, RemovalPolicy, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from constructs import Construct
from layer_share import LayerVersionPermission, LayerVersionSharing, PointerOptions
from layer_share.pointer import ORGANIZATION_SHARING_WARNING

PARTNER_ACCOUNT = "444455556666"
PARTNER_ORGANIZATION = "o-a1b2c3d4e5"
# RAM names an organization by its ARN, which holds the organization's management account.
PARTNER_ORGANIZATION_ARN = f"arn:aws:organizations::111122223333:organization/{PARTNER_ORGANIZATION}"
DEMO_POINTER = "/layer-share/demo/latest"
TOOLS_LAYER_ARN = "arn:aws:lambda:us-west-2:111122223333:layer:tools:7"
DEMO_LAYER_CODE = Path(__file__).parent / "example" / "demo_layer"
DEMO_VERSIONS_KEPT = 2


class LayerShareDemoStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        demo_layer_arn: str | None = None,
        tools_layer_arn: str = TOOLS_LAYER_ARN,
        tools_partner_account: str = PARTNER_ACCOUNT,
    ) -> None:
        super().__init__(scope, id, description="Shares Lambda layer versions with an account and an organization")
        # Either this stack publishes the demo layer, or it shares a layer version that exists already.
        demo_layer = (
            {"layer_version_arn": demo_layer_arn} if demo_layer_arn else {"layer_version": self._publish_demo_layer()}
        )
        # The two newest versions of the demo layer stay shared; an older one loses these grants once a stack
        # update publishing a newer one has succeeded. The pointer moves to each new version once its grants exist,
        # so consumers that deploy from it move forward before the old version loses its grants.
        sharing = LayerVersionSharing(
            self,
            "ShareDemoLayer",
            accounts=[PARTNER_ACCOUNT],
            organization_ids=[PARTNER_ORGANIZATION],
            keep_versions=DEMO_VERSIONS_KEPT,
            publish_pointer=PointerOptions(parameter_name=DEMO_POINTER, organization_arns=[PARTNER_ORGANIZATION_ARN]),
            **demo_layer,
        )
        Annotations.of(sharing).acknowledge_warning(
            ORGANIZATION_SHARING_WARNING,
            "The demo organization's management account has enabled RAM's sharing with AWS Organizations",
        )
        LayerVersionPermission(
            self, "ShareToolsLayer", layer_version_arn=tools_layer_arn, principal=tools_partner_account
        )

    def _publish_demo_layer(self) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            "DemoLayer",
            code=lambda_.Code.from_asset(str(DEMO_LAYER_CODE)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_14],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Demo layer shared by the layer-version-permission example app",
            # Publishing a new version replaces this one in the template; keeping it keeps the grants that
            # keep_versions leaves on it useful for the functions still pinned to it.
            removal_policy=RemovalPolicy.RETAIN,
        )


def build_app(app: App) -> LayerShareDemoStack:
    """Declare the demo stack in `app`, with cdk-nag's AwsSolutions checks, reading the optional context."""
    stack = LayerShareDemoStack(
        app,
        "LayerShareDemo",
        demo_layer_arn=app.node.try_get_context("demo_layer_arn"),
        tools_layer_arn=app.node.try_get_context("tools_layer_arn") or TOOLS_LAYER_ARN,
        tools_partner_account=app.node.try_get_context("tools_partner_account") or PARTNER_ACCOUNT,
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


if __name__ == "__main__":
    app = App()
    build_app(app)
    app.synth()
