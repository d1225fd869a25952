"""A user's app that runs cdk-nag needs no acknowledgment of its own for the grants: docs/operations.md says so."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from layer_share import LayerVersionPermission, LayerVersionSharing, PointerOptions

from .conftest import cdk_json_context

ACCOUNT = "111122223333"


def test_a_users_stack_passes_cdk_nag_with_the_constructs_own_reasoned_acknowledgments(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Layers", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    LayerVersionPermission(
        stack,
        "Share",
        layer_version_arn=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:tools:7",
        principal="223456789012",
        keep_versions=1,
        publish_pointer=PointerOptions(),  # its SSM parameter and RAM share need no acknowledgment either
    )
    LayerVersionSharing(
        stack,
        "ShareRuntime",
        layer_version_arn=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:runtime:3",
        organization_ids=["o-a1b2c3d4e5"],
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    app.synth()  # a finding would raise

    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [plugin.get("violations") for plugin in report["pluginReports"] if plugin.get("violations")] == []
    # Acknowledged rules are recorded as {rule id: reason}.
    acknowledged = {
        rule: reason
        for construct in app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    }
    stack_arn = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/<AWS::StackName>/*"
    this_stack = f"AwsSolutions::AwsSolutions-IAM5[Resource::{stack_arn}]"
    assert acknowledged.pop(this_stack) == "The stack's own ID: its suffix is made by CloudFormation at deploy."
    assert sorted(acknowledged) == [
        f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:{name}:*]"
        for name in ("runtime", "tools")
    ]
    assert all("revoke grants on versions the template no longer names" in reason for reason in acknowledged.values())


def test_a_layer_version_arn_from_a_parameter_passes_cdk_nag_with_reasons(tmp_path: Path) -> None:
    """The policy names the layer with IAM's literal `${*}` for any `*` in the value: cdk-nag sees a '*' in the
    CloudFormation text of both resources, and each is acknowledged with its own reason."""
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Layers", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    arn = cdk.CfnParameter(stack, "ToolsLayerVersionArn").value_as_string
    LayerVersionPermission(stack, "Share", layer_version_arn=arn, principal="223456789012")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    app.synth()  # a finding, or a rule that cannot read the policy, would raise

    reasons = sorted(
        reason
        for construct in app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
        if rule.startswith("AwsSolutions::AwsSolutions-IAM5[Resource::") and ":cloudformation:" not in rule
    )
    every_version, layer = reasons  # "The handler may ...", "The only '*' here ..."
    assert "revoke grants on versions the template no longer names" in every_version
    assert "IAM's literal '${*}', so that this resource names one layer and never a wildcard" in layer
