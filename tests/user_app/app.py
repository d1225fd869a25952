"""A platform team's CDK app, written as a user would, outside the library's own example.

- `Prod/Layers` (in a Stage) shares two versions of the `tools` layer by ARN: with an account given as a
  CfnParameter, and with an organization only; a nested stack shares the `runtime` layer with another
  organization and with a partner account.
- `Sandbox` shares one layer version publicly.

The layer versions come from context, so that a second synth can move the grants to new versions:

    cdk synth -c tools_version=3 -c partner_org=o-a1b2c3d4e5
"""

from __future__ import annotations

from aws_cdk import App, CfnParameter, Environment, NestedStack, Stack, Stage

from constructs import Construct
from layer_share import LayerVersionPermission, LayerVersionSharing

LAYER_ACCOUNT = "111122223333"
REGION = "eu-west-1"


def layer_arn(name: str, version: str) -> str:
    return f"arn:aws:lambda:{REGION}:{LAYER_ACCOUNT}:layer:{name}:{version}"


class RuntimeShares(NestedStack):
    def __init__(self, scope: Construct, id: str, *, runtime_version: str, partner_org: str) -> None:
        super().__init__(scope, id)
        LayerVersionSharing(
            self,
            "Runtime",
            layer_version_arn=layer_arn("runtime", runtime_version),
            accounts=["444455556666"],
            organization_ids=[partner_org],
        )


class LayersStack(Stack):
    def __init__(self, scope: Construct, id: str, *, context: dict[str, str], **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)
        consumer = CfnParameter(self, "ConsumerAccount", type="String", description="The account that runs the tools")
        tools = layer_arn("tools", context["tools_version"])
        LayerVersionPermission(self, "ToolsToConsumer", layer_version_arn=tools, principal=consumer.value_as_string)
        LayerVersionPermission(
            self, "ToolsToOrg", layer_version_arn=tools, principal="*", organization_id="o-zz9yy8xx7w"
        )
        RuntimeShares(self, "Runtime", runtime_version=context["runtime_version"], partner_org=context["partner_org"])


class Prod(Stage):
    def __init__(self, scope: Construct, id: str, *, context: dict[str, str]) -> None:
        super().__init__(scope, id, env=Environment(account=LAYER_ACCOUNT, region=REGION))
        LayersStack(self, "Layers", context=context)


class SandboxStack(Stack):
    def __init__(self, scope: Construct, id: str, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)
        LayerVersionPermission(
            self,
            "Everyone",
            layer_version_arn=layer_arn("samples", "1"),
            principal="*",
            allow_all_accounts=True,
        )


app = App()
context = {
    "tools_version": app.node.try_get_context("tools_version") or "2",
    "runtime_version": app.node.try_get_context("runtime_version") or "5",
    "partner_org": app.node.try_get_context("partner_org") or "o-a1b2c3d4e5",
}
Prod(app, "Prod", context=context)
SandboxStack(app, "Sandbox", env=Environment(account=LAYER_ACCOUNT, region=REGION))
app.synth()
