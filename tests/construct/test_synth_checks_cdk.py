"""What `cdk synth` stops: every problem in the app at once, each with its construct path, prop, value and fix.

The apps are shaped like users': several stacks, a nested stack, a Stage, tokens from parameters.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib.metadata import version
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Annotations, Match, Template

from layer_share import LayerVersionPermission, LayerVersionSharing, PermissionHandler
from layer_share.regions import endpoint_data, unknown_region
from layer_share_handler.rules import RULES, property_problem

from .conftest import cdk_json_context, resources_of

TOOLS_7 = "arn:aws:lambda:eu-west-1:111122223333:layer:tools:7"
OWNER = cdk.Environment(account="111122223333", region="eu-west-1")


def synth_errors(app: cdk.App) -> list[str]:
    """The synth's error report, one line per problem: `[<construct path>] <message>`."""
    with pytest.raises(RuntimeError) as error:
        app.synth()
    heading, *lines = str(error.value).splitlines()
    assert heading.endswith("Validation failed with the following errors:"), heading
    return [line.strip() for line in lines if line.strip()]


def new_app() -> cdk.App:
    return cdk.App(context=cdk_json_context())


def test_one_synth_lists_every_problem_in_every_stack_and_nested_stack() -> None:
    app = new_app()
    first = cdk.Stack(app, "First")
    LayerVersionPermission(first, "BadPrincipal", layer_version_arn=TOOLS_7, principal="12345")
    LayerVersionSharing(first, "Sharing", layer_version_arn=TOOLS_7, accounts=["1234", "222222222222"])
    nested = cdk.NestedStack(cdk.Stack(app, "Second"), "Nested")
    LayerVersionPermission(nested, "BadId", layer_version_arn=TOOLS_7, principal="123456789012", statement_id="a b")
    LayerVersionPermission(cdk.Stack(app, "Third"), "BadArn", layer_version_arn="tools:7", principal="123456789012")

    errors = synth_errors(app)

    assert errors == [
        "[First/BadPrincipal] LayerVersionPermission: principal='12345' is invalid: "
        + property_problem("Principal", "12345"),
        "[First/Sharing] LayerVersionSharing: accounts[0]='1234' is invalid: " + property_problem("Principal", "1234"),
        "[Second/Nested/BadId] LayerVersionPermission: statement_id='a b' is invalid: "
        + property_problem("StatementId", "a b"),
        "[Third/BadArn] LayerVersionPermission: layer_version_arn='tools:7' is not a layer version ARN; "
        "expected arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>",
    ]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"principal": "12345"}, ["principal='12345'", RULES["Principal"].pattern]),
        (
            {"principal": "*", "organization_id": "o-ABCDEFGHIJ"},
            ["organization_id='o-ABCDEFGHIJ'", RULES["OrganizationId"].pattern],
        ),
        ({"statement_id": "has space"}, ["statement_id='has space'", RULES["StatementId"].pattern]),
        ({"statement_id": "s" * 101}, ["statement_id='sss", "1 to 100 characters"]),
        (
            {"layer_version_arn": "arn:aws:lambda:eu-west-1:111122223333:layer:tools:0"},
            ["layer_version_arn='arn:aws:lambda:eu-west-1:111122223333:layer:tools:0'", "VersionNumber must be"],
        ),
        (
            {"layer_version_arn": "arn:aws:lambda:eu-west-1:111122223333:layer:to.ols:7"},
            ["layer_version_arn=", "to.ols", RULES["LayerName"].pattern],
        ),
        (
            {"organization_id": "o-a1b2c3d4e5"},
            ["organization_id='o-a1b2c3d4e5'", "requires Principal '*'", "'123456789012'"],
        ),
        ({"allow_all_accounts": True}, ["allow_all_accounts=True applies only to principal='*'", "'123456789012'"]),
        ({"principal": "*"}, ["grants every AWS account", "allow_all_accounts=True", "organization_id='o-...'"]),
    ],
    ids=lambda value: "" if isinstance(value, list) else ",".join(value),
)
def test_an_invalid_value_fails_the_synth_naming_path_prop_value_and_fix(props: dict, expected: list[str]) -> None:
    app = new_app()
    stack = cdk.Stack(app, "Validation")
    LayerVersionPermission(stack, "Share", **{"layer_version_arn": TOOLS_7, "principal": "123456789012", **props})
    (error,) = synth_errors(app)
    assert error.startswith("[Validation/Share] LayerVersionPermission: ")
    for fragment in expected:
        assert fragment in error


def test_a_stage_lists_its_problems_when_it_is_synthesized_as_cdk_validates_each_stage() -> None:
    app = new_app()
    stage = cdk.Stage(app, "Prod")
    for stack_name in ("One", "Two"):
        LayerVersionPermission(cdk.Stack(stage, stack_name), "Bad", layer_version_arn=TOOLS_7, principal="12")
    errors = synth_errors(app)
    assert [error.split("]")[0] for error in errors] == ["[Prod/One/Bad", "[Prod/Two/Bad"]


def test_an_imported_layer_version_is_checked_too() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Validation")
    layer = lambda_.LayerVersion.from_layer_version_arn(stack, "Layer", "arn:aws:lambda:eu-west-1:111122223333:tools")
    LayerVersionPermission(stack, "Share", layer_version=layer, principal="123456789012")
    assert synth_errors(app) == [
        "[Validation/Share] LayerVersionPermission: layer_version='arn:aws:lambda:eu-west-1:111122223333:tools' "
        "is not a layer version ARN; expected arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>"
    ]


def test_a_string_passed_as_layer_version_fails_at_once_pointing_to_layer_version_arn() -> None:
    stack = cdk.Stack(new_app(), "Validation")
    with pytest.raises(TypeError) as error:
        LayerVersionPermission(stack, "Share", layer_version=TOOLS_7, principal="123456789012")  # type: ignore[arg-type]
    assert str(error.value) == (
        f"LayerVersionPermission Validation/Share: layer_version takes an aws_lambda.ILayerVersion, got the string "
        f"'{TOOLS_7}'; pass an ARN as layer_version_arn='{TOOLS_7}'"
    )


@pytest.mark.parametrize("both", [True, False], ids=["both", "neither"])
def test_naming_the_layer_version_twice_or_not_at_all_fails_at_once(both: bool) -> None:
    stack = cdk.Stack(new_app(), "Validation")
    layer = lambda_.LayerVersion.from_layer_version_arn(stack, "Layer", TOOLS_7) if both else None
    arn = TOOLS_7 if both else None
    with pytest.raises(TypeError, match=rf"exactly one of layer_version .* got {'both' if both else 'neither'}"):
        LayerVersionPermission(stack, "Share", layer_version=layer, layer_version_arn=arn, principal="123456789012")


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"accounts": ["*"]}, "accounts[0]='*' would share with every AWS account"),
        ({"accounts": ["111111111111", "1234"]}, "accounts[1]='1234' is invalid: Principal '1234' does not match"),
        ({"accounts": "111111111111"}, "accounts must be a list, got the string '111111111111'"),
        ({"accounts": ["111111111111", "111111111111"]}, "accounts lists '111111111111' more than once"),
        ({"organization_ids": ["org"]}, "organization_ids[0]='org' is invalid: OrganizationId must be 12 to 34"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_sharing_checks_every_principal_and_names_its_position(props: dict, expected: str) -> None:
    app = new_app()
    LayerVersionSharing(cdk.Stack(app, "Validation"), "Sharing", layer_version_arn=TOOLS_7, **props)
    (error,) = synth_errors(app)
    assert error.startswith("[Validation/Sharing] LayerVersionSharing: ")
    assert expected in error


def test_sharing_needs_principals_known_at_synth_time() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Validation")
    account = cdk.CfnParameter(stack, "Partner").value_as_string
    LayerVersionSharing(stack, "Sharing", layer_version_arn=TOOLS_7, accounts=[account])
    (error,) = synth_errors(app)
    assert "accounts[0] is a token" in error and "use LayerVersionPermission" in error


def test_tokens_from_parameters_are_left_to_the_handler_at_deploy_time() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Tokens", env=OWNER)
    principal = cdk.CfnParameter(stack, "Partner").value_as_string
    arn = cdk.CfnParameter(stack, "LayerVersionArn").value_as_string
    LayerVersionPermission(stack, "Share", layer_version_arn=arn, principal=principal, statement_id="from-params")
    LayerVersionPermission(stack, "Again", layer_version_arn=arn, principal=principal)
    Template.from_stack(stack).has_resource_properties(
        "Custom::LayerVersionPermission", {"Principal": {"Ref": "Partner"}, "StatementId": "from-params"}
    )


# App-wide checks.


def test_the_same_statement_id_on_one_layer_version_anywhere_in_the_app_names_both_grants() -> None:
    app = new_app()
    LayerVersionPermission(
        cdk.Stack(app, "TeamA"), "Share", layer_version_arn=TOOLS_7, principal="123456789012", statement_id="partner"
    )
    other = cdk.Stack(cdk.Stage(app, "Prod"), "TeamB")
    LayerVersionPermission(other, "Share", layer_version_arn=TOOLS_7, principal="223456789012", statement_id="partner")
    # Another layer may use the same StatementId.
    LayerVersionPermission(
        other,
        "Other",
        layer_version_arn=TOOLS_7.replace(":tools:", ":runtime:"),
        principal="223456789012",
        statement_id="partner",
    )
    assert synth_errors(app) == [
        f"[Prod/TeamB/Share] LayerVersionPermission: TeamA/Share and Prod/TeamB/Share both grant on layer version "
        f"'{TOOLS_7}' with statement_id='partner'; Lambda keeps one statement per StatementId on a layer version, "
        "so one would fail or take over the other's statement. Give one of them another statement_id (or leave it "
        "out for the default)"
    ]


def test_the_same_statement_id_on_an_in_stack_layer_is_caught_too() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers")
    layer = lambda_.LayerVersion.from_layer_version_attributes(
        stack, "Layer", layer_version_arn=cdk.CfnParameter(stack, "Arn").value_as_string
    )
    for name in ("One", "Two"):
        LayerVersionPermission(stack, name, layer_version=layer, principal="123456789012", statement_id="same")
    (error,) = synth_errors(app)
    assert error.startswith("[Layers/Two] LayerVersionPermission: Layers/One and Layers/Two both grant on the same")


def test_a_layer_in_another_account_than_the_stack_is_an_error_when_both_are_known() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Elsewhere", env=cdk.Environment(account="999999999999", region="eu-west-1"))
    LayerVersionPermission(stack, "Share", layer_version_arn=TOOLS_7, principal="123456789012")
    # Unknown account (an environment-agnostic stack): left to the deploy.
    LayerVersionPermission(cdk.Stack(app, "Agnostic"), "Share", layer_version_arn=TOOLS_7, principal="123456789012")
    assert synth_errors(app) == [
        f"[Elsewhere/Share] LayerVersionPermission: layer_version_arn='{TOOLS_7}' belongs to account 111122223333, "
        "but stack Elsewhere deploys to account 999999999999; only the layer's owner may share it, so declare this "
        "grant in a stack deployed to account 111122223333"
    ]


def accounts(count: int) -> list[str]:
    return [str(400000000000 + number) for number in range(count)]


def test_a_layer_policy_near_lambdas_limit_warns_and_advises_an_organization() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Many", env=OWNER)
    LayerVersionSharing(stack, "Partners", layer_version_arn=TOOLS_7, accounts=accounts(75))
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("layer version policy"))
    assert len(warnings) == 1
    (warning,) = warnings
    assert warning.id == "/Many/Partners/Account400000000074"
    assert "past 80% of Lambda's limit of 20,480 bytes" in warning.entry.data
    assert "share with an organization (organization_id or organization_ids) instead of many accounts" in (
        warning.entry.data
    )


def test_a_layer_policy_past_lambdas_limit_fails_the_synth_for_each_grant_that_does_not_fit() -> None:
    app = new_app()
    stack = cdk.Stack(app, "TooMany", env=OWNER)
    LayerVersionSharing(stack, "Partners", layer_version_arn=TOOLS_7, accounts=accounts(100))
    errors = synth_errors(app)
    assert errors[0].startswith(
        "[TooMany/Partners/Account400000000092] LayerVersionPermission: the 93 grants this app declares on layer "
        f"version '{TOOLS_7}' (the first at TooMany/Partners/Account400000000000) bring its estimated layer version "
        "policy to 20,"
    )
    assert "past Lambda's limit of 20,480 bytes for a resource-based policy" in errors[0]
    assert len(errors) == 100 - 92


def test_an_empty_sharing_warns() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Empty")
    LayerVersionSharing(stack, "Nobody", layer_version_arn=TOOLS_7)
    cdk.CfnWaitConditionHandle(stack, "SomethingElse")  # CDK refuses an empty stack
    Annotations.from_stack(stack).has_warning(
        "/Empty/Nobody", Match.string_like_regexp("has no accounts and no organization_ids, so it shares nothing")
    )


# CDK idioms: escape hatches and the handler's customisation.


def grant_stack() -> tuple[cdk.Stack, LayerVersionPermission]:
    stack = cdk.Stack(new_app(), "Custom")
    return stack, LayerVersionPermission(stack, "Share", layer_version_arn=TOOLS_7, principal="123456789012")


def only(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (body,) = resources_of(template, resource_type).values()
    return body


def test_the_default_child_is_the_grants_cfn_resource_for_escape_hatches() -> None:
    stack, grant = grant_stack()
    resource = grant.node.default_child
    assert isinstance(resource, cdk.CfnResource)
    resource.add_property_override("Action", "lambda:GetLayerVersion")
    resource.cfn_options.condition = cdk.CfnCondition(stack, "Enabled", expression=cdk.Fn.condition_equals("a", "a"))
    body = only(Template.from_stack(stack).to_json(), "Custom::LayerVersionPermission")
    assert (body["Properties"]["Action"], body["Condition"]) == ("lambda:GetLayerVersion", "Enabled")


def test_the_handler_is_the_stacks_child_found_by_id() -> None:
    stack, _ = grant_stack()
    handler = PermissionHandler.of(stack)
    assert stack.node.try_find_child(PermissionHandler.CONSTRUCT_ID) is handler


def test_the_handler_takes_log_retention_removal_tags_and_a_permissions_boundary_the_cdk_way() -> None:
    stack, _ = grant_stack()
    handler = PermissionHandler.of(stack)
    log_group = handler.log_group.node.default_child
    assert isinstance(log_group, logs.CfnLogGroup)
    log_group.retention_in_days = 30
    handler.log_group.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
    cdk.Tags.of(handler).add("team", "platform")
    boundary = iam.ManagedPolicy.from_managed_policy_name(stack, "Boundary", "platform-boundary")
    iam.PermissionsBoundary.of(handler).apply(boundary)

    template = Template.from_stack(stack).to_json()

    group = only(template, "AWS::Logs::LogGroup")
    assert (group["Properties"]["RetentionInDays"], group["DeletionPolicy"]) == (30, "Delete")
    for resource_type in ("AWS::Logs::LogGroup", "AWS::IAM::Role", "AWS::Lambda::Function"):
        assert {"Key": "team", "Value": "platform"} in only(template, resource_type)["Properties"]["Tags"]
    assert only(template, "AWS::IAM::Role")["Properties"]["PermissionsBoundary"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":policy/platform-boundary"],
        ]
    }


def test_keep_versions_must_count_versions() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers", env=OWNER)
    LayerVersionPermission(stack, "Zero", layer_version_arn=TOOLS_7, principal="123456789012", keep_versions=0)

    assert synth_errors(app) == [
        "[Layers/Zero] LayerVersionPermission: keep_versions=0 is invalid: it counts the layer's newest versions "
        "that keep the grant, 1 to 1000 (1 revokes the old version's grant at each new version), or None for every "
        "version"
    ]


def test_layer_version_sharing_passes_its_retention_to_every_grant() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers", env=OWNER)
    LayerVersionSharing(
        stack,
        "Sharing",
        layer_version_arn=TOOLS_7,
        accounts=["123456789012"],
        organization_ids=["o-a1b2c3d4e5"],
        keep_versions=2,
        revoke_retained_on_delete=False,
    )

    Template.from_stack(stack).all_resources_properties(
        "Custom::LayerVersionPermission", {"KeepVersions": "2", "RevokeRetainedOnDelete": "false"}
    )


# Grants that would collide at deploy.


def test_the_same_statement_id_on_two_versions_of_one_layer_names_both_grants() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers", env=OWNER)
    tools_3, tools_4 = TOOLS_7[:-1] + "3", TOOLS_7[:-1] + "4"
    LayerVersionPermission(stack, "Old", layer_version_arn=tools_3, principal="123456789012", statement_id="partner")
    LayerVersionPermission(stack, "New", layer_version_arn=tools_4, principal="223456789012", statement_id="partner")
    # Tokens are compared only with the same token: nothing is known of their layer.
    arn = cdk.CfnParameter(stack, "Arn").value_as_string
    LayerVersionPermission(stack, "Token", layer_version_arn=arn, principal="123456789012", statement_id="partner")

    assert synth_errors(app) == [
        f"[Layers/New] LayerVersionPermission: Layers/Old grants on layer version '{tools_3}' and Layers/New on "
        f"'{tools_4}', two versions of one layer, both with statement_id='partner'; the handler takes a statement "
        "under a grant's StatementId on another version of its layer for a statement that grant keeps, so each grant "
        "would revoke or prune the other's statement. Give one of them another statement_id (or leave it out for the "
        "default)"
    ]


def test_one_account_spelled_two_ways_on_one_layer_version_names_both_grants() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers", env=OWNER)
    LayerVersionPermission(stack, "ById", layer_version_arn=TOOLS_7, principal="123456789012")
    LayerVersionPermission(stack, "ByRoot", layer_version_arn=TOOLS_7, principal="arn:aws:iam::123456789012:root")

    (error,) = synth_errors(app)

    assert error.startswith(
        "[Layers/ByRoot] LayerVersionPermission: Layers/ById and Layers/ByRoot both grant account 123456789012 on "
        f"layer version '{TOOLS_7}' (principal='123456789012' and principal='arn:aws:iam::123456789012:root', which "
        "Lambda stores alike), under statement_id='LayersById"
    )
    assert error.endswith(
        "Lambda would keep both statements, so removing either grant, or changing its principal, would leave account "
        "123456789012 the access through the other. Keep one of them"
    )


@pytest.mark.parametrize(
    ("principal", "organization_id", "grantee"),
    [
        ("123456789012", None, "account 123456789012"),
        ("*", "o-a1b2c3d4e5", "organization 'o-a1b2c3d4e5'"),
        ("*", None, "every AWS account"),
    ],
    ids=["account", "organization", "everyone"],
)
def test_the_same_grant_twice_in_one_stack_under_two_statement_ids_is_an_error(
    principal: str, organization_id: str | None, grantee: str
) -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers", env=OWNER)
    for name in ("One", "Two"):
        LayerVersionPermission(
            stack,
            name,
            layer_version_arn=TOOLS_7,
            principal=principal,
            organization_id=organization_id,
            allow_all_accounts=organization_id is None and principal == "*",
        )
    (error,) = synth_errors(app)
    assert error.startswith(f"[Layers/Two] LayerVersionPermission: Layers/One and Layers/Two both grant {grantee} on")
    assert "which Lambda stores alike" not in error


def test_two_stacks_may_each_declare_and_own_the_same_grant() -> None:
    """Two stages in one account, say: each keeps the access while it declares it."""
    app = new_app()
    for stage in ("Beta", "Prod"):
        stack = cdk.Stack(cdk.Stage(app, stage), "Layers", env=OWNER)
        LayerVersionPermission(stack, "Partner", layer_version_arn=TOOLS_7, principal="123456789012")
    app.synth()


def test_sharing_that_lists_one_account_spelled_two_ways_fails_on_the_sharing() -> None:
    app = new_app()
    accounts = ["123456789012", "arn:aws:iam::123456789012:root"]
    LayerVersionSharing(cdk.Stack(app, "Layers"), "Sharing", layer_version_arn=TOOLS_7, accounts=accounts)
    assert synth_errors(app) == [
        "[Layers/Sharing] LayerVersionSharing: accounts lists account 123456789012 more than once, as '123456789012' "
        "and 'arn:aws:iam::123456789012:root', which Lambda stores alike; list it once"
    ]


@pytest.mark.parametrize("policy", [cdk.RemovalPolicy.SNAPSHOT, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE])
def test_a_removal_policy_other_than_destroy_or_retain_fails_on_the_construct_that_takes_it(
    policy: cdk.RemovalPolicy,
) -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers")
    LayerVersionPermission(stack, "Share", layer_version_arn=TOOLS_7, principal="123456789012", removal_policy=policy)
    LayerVersionSharing(stack, "Sharing", layer_version_arn=TOOLS_7, accounts=["223456789012"], removal_policy=policy)
    message = (
        f"removal_policy=RemovalPolicy.{policy.name} does not apply to a grant, which has nothing to snapshot; use "
        "RemovalPolicy.DESTROY to revoke the grant when it is deleted, or RemovalPolicy.RETAIN to keep it"
    )
    # The sharing declares no grants while it has problems, so its message comes once.
    assert synth_errors(app) == [
        f"[Layers/Share] LayerVersionPermission: {message}",
        f"[Layers/Sharing] LayerVersionSharing: {message}",
    ]


def test_sharing_takes_none_as_not_given_like_any_optional_cdk_prop() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers")
    sharing = LayerVersionSharing(
        stack, "Sharing", layer_version_arn=TOOLS_7, accounts=None, organization_ids=["o-a1b2c3d4e5"]
    )
    LayerVersionSharing(stack, "Nobody", layer_version_arn=TOOLS_7, accounts=None, organization_ids=None)

    assert [grant.node.id for grant in sharing.permissions] == ["Organizationo-a1b2c3d4e5"]
    Template.from_stack(stack).resource_count_is("Custom::LayerVersionPermission", 1)
    Annotations.from_stack(stack).has_warning("/Layers/Nobody", Match.string_like_regexp("shares nothing"))


# A region Lambda has no endpoint in.


def region_warnings(stack: cdk.Stack) -> list[Any]:
    return Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("Lambda has no endpoint there"))


def test_a_layer_in_a_region_botocore_does_not_know_warns_with_an_acknowledgment_id() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers")
    typo = "arn:aws:lambda:us-east-7:111122223333:layer:tools:7"
    LayerVersionSharing(stack, "Sharing", layer_version_arn=typo, accounts=["123456789012", "223456789012"])
    LayerVersionPermission(stack, "Known", layer_version_arn=TOOLS_7, principal="123456789012")

    (warning,) = region_warnings(stack)  # once per layer version, on its first grant

    assert warning.id == "/Layers/Sharing/Account123456789012"
    message = warning.entry.data
    assert message.startswith(
        f"layer_version_arn='{typo}' names region 'us-east-7', which botocore {version('botocore')}'s endpoint data "
        "does not list in partition 'aws' (did you mean "
    )
    assert "'us-east-1'" in message.partition("(did you mean ")[2].partition(")")[0]
    assert "Lambda has no endpoint there, so the grant would fail at deploy. Correct the ARN" in message
    assert message.endswith("[ack: layer-share:UnknownRegion]")


def test_a_region_of_another_partition_warns_naming_that_partition() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers")
    arn = "arn:aws:lambda:cn-north-1:111122223333:layer:tools:7"
    LayerVersionPermission(stack, "Share", layer_version_arn=arn, principal="123456789012")
    (warning,) = region_warnings(stack)
    assert "names region 'cn-north-1', which botocore" in warning.entry.data
    assert "not list in partition 'aws' (it is in partition 'aws-cn')" in warning.entry.data


def test_the_unknown_region_warning_is_acknowledged_the_cdk_way() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Layers")
    arn = "arn:aws:lambda:xx-future-1:111122223333:layer:tools:7"
    LayerVersionPermission(stack, "Share", layer_version_arn=arn, principal="123456789012")
    cdk.Annotations.of(stack).acknowledge_warning("layer-share:UnknownRegion", "a region newer than our botocore")
    assert region_warnings(stack) == []


def test_without_botocore_the_region_is_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "botocore" else find_spec(name, *args)
    )
    endpoint_data.cache_clear()
    try:
        assert unknown_region("layer_version_arn", "arn:aws:lambda:us-east-7:111122223333:layer:tools:7") is None
    finally:
        monkeypatch.undo()
        endpoint_data.cache_clear()


def test_checking_regions_imports_neither_botocore_nor_boto3() -> None:
    """A synth must not import the Lambda runtime's packages: the region data is read as a file."""
    script = (
        "import sys, aws_cdk as cdk; from layer_share import LayerVersionPermission;"
        "app = cdk.App(); stack = cdk.Stack(app, 'S');"
        f"LayerVersionPermission(stack, 'G', layer_version_arn='{TOOLS_7[:15]}us-east-7{TOOLS_7[24:]}',"
        " principal='123456789012');"
        "messages = app.synth().get_stack_by_name('S').messages;"
        "print(any('layer-share:UnknownRegion' in str(message.entry.data) for message in messages));"
        "print(sorted({'boto3', 'botocore', 'crhelper'} & set(sys.modules)))"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300)
    assert ran.stdout.splitlines()[-2:] == ["True", "[]"]
