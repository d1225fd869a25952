"""A platform team's CDK app, as a user writes one: it imports the installed library and nothing of this repo.

    python user_app.py <outdir>

Several stacks, a Stage, a nested stack, organization-only grants, a principal from a parameter, an imported
layer version, and many layer versions of one layer.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from layer_share import LayerVersionPermission, LayerVersionSharing

ACCOUNT = "111122223333"
REGION = "eu-west-1"
ENVIRONMENT = cdk.Environment(account=ACCOUNT, region=REGION)
ORGANIZATION = "o-a1b2c3d4e5"
TOOLS_VERSIONS = 30


def layer_version_arn(name: str, version: int) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}:{version}"


class RuntimeLayers(cdk.NestedStack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        LayerVersionSharing(
            self, "Runtime", layer_version_arn=layer_version_arn("runtime", 4), organization_ids=[ORGANIZATION]
        )


class SharedLayers(cdk.Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id, env=ENVIRONMENT)
        partner = cdk.CfnParameter(self, "PartnerAccount", type="String", allowed_pattern=r"\d{12}")
        LayerVersionPermission(
            self, "SharePartner", layer_version_arn=layer_version_arn("tools", 7), principal=partner.value_as_string
        )
        for version in range(1, TOOLS_VERSIONS + 1):
            LayerVersionSharing(
                self,
                f"ToolsV{version}",
                layer_version_arn=layer_version_arn("tools", version),
                organization_ids=[ORGANIZATION],
            )
        RuntimeLayers(self, "Runtime")


class AuditLayers(cdk.Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id, env=ENVIRONMENT)
        audit = lambda_.LayerVersion.from_layer_version_arn(self, "Audit", layer_version_arn("audit", 2))
        LayerVersionSharing(self, "ShareAudit", layer_version=audit, accounts=["444455556666", "555566667777"])


class Production(cdk.Stage):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id, env=ENVIRONMENT)
        SharedLayers(self, "Layers")


def main(outdir: str) -> None:
    app = cdk.App(outdir=outdir)
    SharedLayers(app, "DevLayers")
    AuditLayers(app, "AuditLayers")
    Production(app, "Prod")
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1])
