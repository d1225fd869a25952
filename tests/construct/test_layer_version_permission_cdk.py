"""The template contract of LayerVersionPermission and LayerVersionSharing, and their synth-time validation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from constructs import Construct
from layer_share import LayerVersionPermission, LayerVersionSharing
from layer_share_handler import ENTRY_POINT
from layer_share_handler.rules import RULES

from .conftest import OWN_STACK_ARN, REPO, cdk_json_context, resources_of

TOOLS_7 = "arn:aws:lambda:eu-west-1:111122223333:layer:tools:7"
LAYER_ACTIONS = [
    "lambda:AddLayerVersionPermission",
    "lambda:GetLayerVersionPolicy",
    "lambda:ListLayerVersions",
    "lambda:RemoveLayerVersionPermission",
]


@dataclass(frozen=True)
class Grants:
    """A stack with eight grants of every kind, synthesized once for the module."""

    stack: cdk.Stack
    template: Template

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.to_json()["Resources"]

    def logical_id(self, path: str) -> str:
        """The logical ID of the CloudFormation resource that the construct at `path` (in the stack) stands for."""
        construct = self.stack
        for part in path.split("/"):
            construct = construct.node.find_child(part)
        return self.stack.resolve(self.stack.get_logical_id(construct.node.default_child))

    def grant(self, path: str) -> dict[str, Any]:
        """The Custom::LayerVersionPermission resource of the grant at `path`: its default child."""
        return self.resources[self.logical_id(path)]


@pytest.fixture(scope="module")
def grants(tmp_path_factory: pytest.TempPathFactory) -> Grants:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("grants")), context=cdk_json_context())
    stack = cdk.Stack(app, "Grants")
    layer = lambda_.LayerVersion(stack, "Layer", code=lambda_.Code.from_asset(str(REPO / "example" / "demo_layer")))
    LayerVersionPermission(stack, "ToAccount", layer_version=layer, principal="123456789012")
    LayerVersionPermission(stack, "RevokingOld", layer_version=layer, principal="333333333333", keep_versions=1)
    LayerVersionSharing(
        stack,
        "Sharing",
        layer_version=layer,
        accounts=["111111111111", "222222222222"],
        organization_ids=["o-a1b2c3d4e5"],
    )
    LayerVersionPermission(
        stack,
        "Imported",
        layer_version_arn=TOOLS_7,
        principal="arn:aws:iam::123456789012:root",
        keep_versions=3,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    LayerVersionPermission(
        stack, "Public", layer_version_arn=TOOLS_7, principal="*", allow_all_accounts=True, statement_id="public-tools"
    )
    parameter = cdk.CfnParameter(stack, "ToolsLayerVersionArn")
    LayerVersionPermission(
        stack, "FromParameter", layer_version_arn=parameter.value_as_string, principal="123456789012"
    )
    return Grants(stack, Template.from_stack(stack))


def layer_policies(resources: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """The handler's layer policies by logical ID: name -> the Resources their one statement names."""
    policies = {}
    for name, body in resources_of({"Resources": resources}, "AWS::IAM::ManagedPolicy").items():
        (statement,) = body["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == LAYER_ACTIONS
        policies[name] = statement["Resource"]
    return policies


def test_every_grant_is_one_custom_resource_served_by_one_function(grants: Grants) -> None:
    grants.template.resource_count_is("Custom::LayerVersionPermission", 8)
    grants.template.resource_count_is("AWS::Lambda::Function", 1)
    grants.template.resource_count_is("AWS::IAM::Role", 1)
    grants.template.resource_count_is("AWS::Logs::LogGroup", 1)
    (function_id,) = resources_of({"Resources": grants.resources}, "AWS::Lambda::Function")
    for body in resources_of({"Resources": grants.resources}, "Custom::LayerVersionPermission").values():
        assert body["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_the_handler_is_small_python_on_arm_with_a_timeout_that_fits_its_deadline(grants: Grants) -> None:
    grants.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "MemorySize": 1024,
            "Timeout": 60,
            "Handler": ENTRY_POINT,
            "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp("LayerVersionPermissionHandlerLogs")}},
        },
    )


def test_the_handler_logs_to_its_own_log_group_with_retention(grants: Grants) -> None:
    (log_group_id,) = resources_of({"Resources": grants.resources}, "AWS::Logs::LogGroup")
    grants.template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})
    grants.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Effect": "Allow",
                            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
                        }
                    ]
                )
            }
        },
    )


def test_the_handler_role_is_for_lambda_only_with_its_layer_policies_attached(grants: Grants) -> None:
    ((role_id, role),) = resources_of({"Resources": grants.resources}, "AWS::IAM::Role").items()
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    for body in resources_of({"Resources": grants.resources}, "AWS::IAM::ManagedPolicy").values():
        assert body["Properties"]["Roles"] == [{"Ref": role_id}]


def literal_layer_of(version_arn: Any) -> Any:
    """A token's layer ARN, rebuilt from its parts, with `$`, `*` and `?` replaced by IAM's literal `${$}`, `${*}`
    and `${?}`: a deploy-time value can never make a wildcard."""
    split = {"Fn::Split": [":", version_arn]}
    text: Any = {"Fn::Join": [":", [{"Fn::Select": [i, split]} for i in range(7)]]}
    for character in ("$", "*", "?"):
        text = {"Fn::Join": ["${" + character + "}", {"Fn::Split": [character, text]}]}
    return text


def every_version_of(version_arn: Any) -> Any:
    """IAM's name for every version of a layer: its layer version ARN with the version replaced by a wildcard."""
    if isinstance(version_arn, str):
        return version_arn.rpartition(":")[0] + ":*"
    return {"Fn::Sub": ["${Layer}:*", {"Layer": literal_layer_of(version_arn)}]}


def the_layer_of(version_arn: Any) -> Any:
    """The layer's own ARN, which IAM authorizes lambda:ListLayerVersions against."""
    if isinstance(version_arn, str):
        return version_arn.rpartition(":")[0]
    return {"Fn::Sub": ["${Layer}", {"Layer": literal_layer_of(version_arn)}]}


def test_layer_actions_are_allowed_on_every_version_of_the_declared_layers_and_nothing_else(grants: Grants) -> None:
    resources = [resource for listed in layer_policies(grants.resources).values() for resource in listed]
    assert sorted(json.dumps(resource, sort_keys=True) for resource in resources) == sorted(
        json.dumps(named(version_arn), sort_keys=True)
        for named in (every_version_of, the_layer_of)
        for version_arn in (
            {"Ref": grants.logical_id("Layer")},  # the in-stack layer, whatever its version: five grants
            TOOLS_7,  # two grants
            {"Ref": "ToolsLayerVersionArn"},
        )
    )


def test_each_grant_depends_on_the_policy_that_names_its_layer(grants: Grants) -> None:
    """So that removing a grant revokes it before its permission goes: CloudFormation deletes dependents first."""
    policies = layer_policies(grants.resources)
    expected = {
        "ToAccount": {"Ref": grants.logical_id("Layer")},
        "RevokingOld": {"Ref": grants.logical_id("Layer")},
        "Sharing/Account111111111111": {"Ref": grants.logical_id("Layer")},
        "Sharing/Organizationo-a1b2c3d4e5": {"Ref": grants.logical_id("Layer")},
        "Imported": TOOLS_7,
        "Public": TOOLS_7,
        "FromParameter": {"Ref": "ToolsLayerVersionArn"},
    }
    for path, version_arn in expected.items():
        (policy,) = [name for name in grants.grant(path)["DependsOn"] if name in policies]
        assert every_version_of(version_arn) in policies[policy], path


def test_the_custom_resource_fails_within_minutes_rather_than_an_hour(grants: Grants) -> None:
    grants.template.all_resources_properties("Custom::LayerVersionPermission", {"ServiceTimeout": "300"})


def test_an_in_stack_layer_is_sent_as_its_bare_name_and_version_split_from_its_arn(grants: Grants) -> None:
    split = {"Fn::Split": [":", {"Ref": grants.logical_id("Layer")}]}
    properties = grants.grant("ToAccount")["Properties"]
    assert properties["LayerName"] == {"Fn::Select": [6, split]}
    assert properties["VersionNumber"] == {"Fn::Select": [7, split]}
    assert set(properties) == {
        "ServiceToken",
        "ServiceTimeout",
        "LayerName",
        "VersionNumber",
        "StatementId",
        "Principal",
        "RevokeRetainedOnDelete",
    }


def test_a_concrete_arn_is_split_at_synth_time_into_layer_arn_and_version_string(grants: Grants) -> None:
    properties = grants.grant("Imported")["Properties"]
    assert properties["LayerName"] == "arn:aws:lambda:eu-west-1:111122223333:layer:tools"
    assert properties["VersionNumber"] == "7"
    assert properties["Principal"] == "arn:aws:iam::123456789012:root"


def test_any_other_token_arn_is_sent_as_the_layer_arn_rebuilt_from_its_parts(grants: Grants) -> None:
    """The layer may be in another account or region, so the bare name would not do."""
    split = {"Fn::Split": [":", {"Ref": "ToolsLayerVersionArn"}]}
    properties = grants.grant("FromParameter")["Properties"]
    assert properties["LayerName"] == {"Fn::Join": [":", [{"Fn::Select": [i, split]} for i in range(7)]]}
    assert properties["VersionNumber"] == {"Fn::Select": [7, split]}


def test_an_organization_grant_sends_principal_star_with_the_organization(grants: Grants) -> None:
    properties = grants.grant("Sharing/Organizationo-a1b2c3d4e5")["Properties"]
    assert (properties["Principal"], properties["OrganizationId"]) == ("*", "o-a1b2c3d4e5")


def test_a_public_grant_sends_principal_star_alone_and_the_given_statement_id(grants: Grants) -> None:
    properties = grants.grant("Public")["Properties"]
    assert (properties["Principal"], properties["StatementId"]) == ("*", "public-tools")
    assert "OrganizationId" not in properties


def test_sharing_creates_one_grant_per_account_and_organization(grants: Grants) -> None:
    sharing = grants.stack.node.find_child("Sharing")
    principals = sorted(
        (properties["Principal"], properties.get("OrganizationId"))
        for properties in (grants.grant(f"Sharing/{grant.node.id}")["Properties"] for grant in sharing.permissions)
    )
    assert principals == [("*", "o-a1b2c3d4e5"), ("111111111111", None), ("222222222222", None)]


def test_by_default_every_version_is_kept_and_a_deleted_grant_revokes_them_all(grants: Grants) -> None:
    resource = grants.grant("ToAccount")
    # CloudFormation sends the cleanup Delete of a replaced grant; the handler keeps every version.
    assert (resource["UpdateReplacePolicy"], resource["DeletionPolicy"]) == ("Delete", "Delete")
    assert "KeepVersions" not in resource["Properties"]
    assert resource["Properties"]["RevokeRetainedOnDelete"] == "true"


def test_keep_versions_and_removal_policy_reach_the_handler_and_cloudformation(grants: Grants) -> None:
    resource = grants.grant("Imported")
    assert (resource["UpdateReplacePolicy"], resource["DeletionPolicy"]) == ("Delete", "Retain")
    assert resource["Properties"]["KeepVersions"] == "3"


def test_keeping_every_version_and_revoking_only_the_current_one_needs_no_cleanup_delete(synth_stack: Callable) -> None:
    template = synth_stack(
        lambda stack: LayerVersionPermission(
            stack, "Share", layer_version_arn=TOOLS_7, principal="123456789012", revoke_retained_on_delete=False
        )
    )
    ((_, resource),) = resources_of(template.to_json(), "Custom::LayerVersionPermission").items()
    assert resource["UpdateReplacePolicy"] == "Retain"
    assert resource["Properties"]["RevokeRetainedOnDelete"] == "false"


def test_the_attributes_read_the_handler_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path_factory.mktemp("attributes"))), "Attributes")
    grant = LayerVersionPermission(stack, "Share", layer_version_arn=TOOLS_7, principal="123456789012")
    logical_id = stack.resolve(stack.get_logical_id(grant.node.default_child))
    assert stack.resolve(grant.ref) == {"Ref": logical_id}
    for attribute, name in [
        (grant.statement_id, "StatementId"),
        (grant.statement, "Statement"),
        (grant.revision_id, "RevisionId"),
        (grant.layer_version_arn, "LayerVersionArn"),
    ]:
        assert stack.resolve(attribute) == {"Fn::GetAtt": [logical_id, name]}


def test_each_stack_gets_its_own_single_handler(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("two-stacks")))
    stacks = [cdk.Stack(app, name) for name in ("First", "Second")]
    for stack in stacks:
        for account in ("111111111111", "222222222222"):
            LayerVersionPermission(stack, f"To{account}", layer_version_arn=TOOLS_7, principal=account)
    for stack in stacks:
        Template.from_stack(stack).resource_count_is("AWS::Lambda::Function", 1)


# The default StatementId: a security property. A principal change must update the grant in place
# (revoke the old principal, grant the new one), never replace it: a replaced grant may be kept on its version.


def statement_id_of(synth_stack: Callable, **grant: Any) -> tuple[str, str]:
    template = synth_stack(lambda stack: LayerVersionPermission(stack, "Share", layer_version_arn=TOOLS_7, **grant))
    ((logical_id, body),) = resources_of(template.to_json(), "Custom::LayerVersionPermission").items()
    return logical_id, body["Properties"]["StatementId"]


def test_the_default_statement_id_is_stable_across_synths(synth_stack: Callable) -> None:
    assert statement_id_of(synth_stack, principal="111111111111") == statement_id_of(
        synth_stack, principal="111111111111"
    )


def test_a_principal_or_organization_change_keeps_the_resource_and_its_statement_id(synth_stack: Callable) -> None:
    first = statement_id_of(synth_stack, principal="111111111111")
    assert statement_id_of(synth_stack, principal="222222222222") == first
    assert statement_id_of(synth_stack, principal="*", organization_id="o-a1b2c3d4e5") == first
    assert statement_id_of(synth_stack, principal="*", organization_id="o-f6g7h8i9j0") == first


def test_a_default_statement_id_fits_the_rule_however_deep_the_construct(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path_factory.mktemp("deep"))), "Stack" + "s" * 120)
    scope: Construct = stack
    for depth in range(8):
        scope = Construct(scope, f"Level{depth}" + "x" * 40)
    LayerVersionPermission(scope, "Share", layer_version_arn=TOOLS_7, principal="111111111111")
    ((_, body),) = resources_of(Template.from_stack(stack).to_json(), "Custom::LayerVersionPermission").items()
    statement_id = body["Properties"]["StatementId"]
    assert len(statement_id) <= 100 and re.fullmatch(RULES["StatementId"].pattern, statement_id)


def test_each_grant_repeats_its_properties_in_metadata_for_the_cleanup_to_read(grants: Grants) -> None:
    for path in ("ToAccount", "RevokingOld", "Sharing/Organizationo-a1b2c3d4e5"):
        resource = grants.grant(path)
        properties = {
            name: value
            for name, value in resource["Properties"].items()
            if name not in ("ServiceToken", "ServiceTimeout")
        }
        assert resource["Metadata"]["LayerShareGrant"] == properties


def test_the_handler_may_read_its_own_stacks_record_and_no_other(grants: Grants) -> None:
    grants.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "cloudformation:DescribeStackResource",
                            "Effect": "Allow",
                            "Resource": OWN_STACK_ARN,
                        }
                    ]
                )
            }
        },
    )
