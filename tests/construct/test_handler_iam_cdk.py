"""The handler role's IAM at scale, the revoke's permission in CloudFormation's cleanup phase, and small diffs.

Sizes are measured the way IAM counts them: the policy document's JSON without whitespace.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint
import pytest

from layer_share import LayerVersionPermission
from layer_share_cli.template import StackValues, resolve

from .conftest import cdk_json_context, resources_of

ACCOUNT, REGION = "111122223333", "eu-west-1"
# IAM quotas (IAM user guide, "IAM and AWS STS quotas"): characters without whitespace, and attachments.
ROLE_INLINE_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144
MANAGED_POLICIES_PER_ROLE = 10


def version_arn(layer: int, version: int, name: str = "shared") -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}{layer}:{version}"


def synth(grants: list[tuple[str, str]]) -> dict[str, Any]:
    """A stack with one grant per (construct id, layer version ARN), each to its own account."""
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Shared", env=cdk.Environment(account=ACCOUNT, region=REGION))
    for number, (grant_id, arn) in enumerate(grants):
        LayerVersionPermission(stack, grant_id, layer_version_arn=arn, principal=str(400000000000 + number))
    return app.synth().get_stack_by_name("Shared").template


def versions(count: int, layers: int) -> list[tuple[str, str]]:
    """`count` distinct layer versions of `layers` layers, one grant each."""
    return [(f"Grant{number}", version_arn(number % layers, number // layers + 1)) for number in range(count)]


def compact(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def handler_role_documents(template: dict[str, Any]) -> tuple[list[int], list[int]]:
    """Sizes of the handler role's inline policy documents, and of its managed ones."""
    ((role_id, role),) = resources_of(template, "AWS::IAM::Role").items()
    inline = [compact(policy["PolicyDocument"]) for policy in role["Properties"].get("Policies", [])]
    managed = []
    for resource_type, sizes in (("AWS::IAM::Policy", inline), ("AWS::IAM::ManagedPolicy", managed)):
        for body in resources_of(template, resource_type).values():
            if {"Ref": role_id} in body["Properties"]["Roles"]:
                sizes.append(compact(body["Properties"]["PolicyDocument"]))
    return inline, managed


@pytest.mark.slow
@pytest.mark.parametrize(("count", "layers"), [(200, 50), (400, 100)])
def test_hundreds_of_layer_versions_fit_every_iam_limit_of_the_handler_role(count: int, layers: int) -> None:
    template = synth(versions(count, layers))

    inline, managed = handler_role_documents(template)

    assert len(resources_of(template, "Custom::LayerVersionPermission")) == count
    assert sum(inline) <= ROLE_INLINE_LIMIT
    assert all(size <= MANAGED_POLICY_LIMIT for size in managed), managed
    # A replacement attaches the new policy before the old one is gone: twice as many, for a moment.
    assert 2 * len(managed) <= MANAGED_POLICIES_PER_ROLE
    listed = [
        resource
        for body in resources_of(template, "AWS::IAM::ManagedPolicy").values()
        for resource in body["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
    ]
    # Each layer: every version of it (the policy calls), and the layer itself (listing its versions).
    assert sorted(listed) == sorted(
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:shared{layer}{versions}"
        for layer in range(layers)
        for versions in (":*", "")
    )


@pytest.mark.slow
def test_more_layers_than_the_handler_policies_hold_stop_the_synth_before_iam_would() -> None:
    long_name = "a-layer-with-a-long-name-shared-by-a-platform-team-" + "x" * 13  # 64 characters
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Shared", env=cdk.Environment(account=ACCOUNT, region=REGION))
    for layer in range(300):
        arn = version_arn(layer, 1, name=long_name)
        LayerVersionPermission(stack, f"Grant{layer}", layer_version_arn=arn, principal="123456789012")
    with pytest.raises(RuntimeError) as error:
        app.synth()
    first = str(error.value).splitlines()[1].strip()
    assert first.startswith("[Shared/Grant")
    assert (
        "LayerVersionPermission: the handler's IAM policy Shared/LayerVersionPermissionHandler/LayerPolicies/" in first
    )
    assert "past 5,529 (90% of IAM's 6,144 per managed policy)" in first
    assert first.endswith("Move some layers' grants to another stack")


# The revoke during CloudFormation's cleanup phase: when the last grant on a layer leaves the template,
# CloudFormation deletes (revokes) it in the cleanup phase, after every update. The policy naming that layer
# must still be attached then: it is replaced, never updated in place, and the grant depended on it.


def create_only_properties(resource_type: str) -> list[str]:
    """From the CloudFormation resource schema that cfn-lint ships."""
    schemas = Path(cfnlint.__file__).parent / "data" / "schemas" / "resources"
    for schema_file in schemas.glob("*.json"):
        schema = json.loads(schema_file.read_text())
        if schema.get("typeName") == resource_type:
            return [pointer.removeprefix("/properties/") for pointer in schema.get("createOnlyProperties", [])]
    raise LookupError(resource_type)


def policy_naming(template: dict[str, Any], layer_arn: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, body)
        for name, body in resources_of(template, "AWS::IAM::ManagedPolicy").items()
        if f"{layer_arn}:*" in body["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
    ]
    return found


def logical_id(template: dict[str, Any], layer_version_arn: str) -> str:
    (name,) = [
        name
        for name, body in resources_of(template, "Custom::LayerVersionPermission").items()
        if f"{body['Properties']['LayerName']}:{body['Properties']['VersionNumber']}" == layer_version_arn
    ]
    return name


def test_removing_the_last_grant_on_a_layer_replaces_its_policy_so_the_revoke_keeps_permission() -> None:
    leaving = version_arn(99, 1)
    before = synth([*versions(40, 20), ("Leaving", leaving)])
    after = synth(versions(40, 20))

    policy_id, old_policy = policy_naming(before, leaving.rpartition(":")[0])
    # The grant depends on the policy that lets the handler revoke it: CloudFormation deletes the grant first.
    assert policy_id in before["Resources"][logical_id(before, leaving)]["DependsOn"]
    # The policy stays in the template under the same logical ID, so no other grant's DependsOn changes...
    new_policy = after["Resources"][policy_id]
    assert (
        leaving.rpartition(":")[0] + ":*" not in new_policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
    )
    # ...but with a new Description, which CloudFormation cannot update in place: it creates a new policy during the
    # update and deletes the old one, still naming the layer, in the cleanup phase, after the grant that depended on it.
    assert "Description" in create_only_properties("AWS::IAM::ManagedPolicy")
    assert new_policy["Properties"]["Description"] != old_policy["Properties"]["Description"]


def test_a_new_version_of_a_shared_layer_changes_no_policy() -> None:
    before = synth([("Share", version_arn(1, 1))])
    after = synth([("Share", version_arn(1, 2))])
    assert resources_of(before, "AWS::IAM::ManagedPolicy") == resources_of(after, "AWS::IAM::ManagedPolicy")


# Small diffs: adding or removing one grant changes that grant's resource, plus the one policy of its layer when it
# is the layer's first or last grant.


def changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    names = set(before["Resources"]) | set(after["Resources"])
    return {name for name in names if before["Resources"].get(name) != after["Resources"].get(name)}


def test_adding_or_removing_a_grant_on_a_layer_with_other_grants_changes_only_that_grant() -> None:
    common = versions(40, 10)
    another_version = version_arn(3, 9)
    with_it = synth([*common, ("Extra", another_version)])
    without = synth(common)
    assert changed(without, with_it) == {logical_id(with_it, another_version)}


def test_adding_or_removing_the_first_grant_on_a_layer_changes_that_grant_and_its_layers_policy() -> None:
    common = versions(40, 10)
    new_layer = version_arn(77, 1)
    with_it = synth([*common, ("NewLayer", new_layer)])
    without = synth(common)
    policy_id, _ = policy_naming(with_it, new_layer.rpartition(":")[0])
    assert changed(without, with_it) == {logical_id(with_it, new_layer), policy_id}


# A layer version ARN known only at deploy time, from a parameter: IAM reads `*` and `?` in a Resource as wildcards
# and `${...}` as a variable, and the handler refuses such a LayerName only once its policy exists. The template
# turns them into IAM's literal `${*}`, `${?}` and `${$}`, so the policy names one layer, whatever the value.


@pytest.mark.parametrize(
    ("given", "layer"),
    [
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:*:1", f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:${{*}}"),
        (
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:to?ls*:1",
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:to${{?}}ls${{*}}",
        ),
        ("arn:aws:lambda:*:*:layer:tools:1", "arn:aws:lambda:${*}:${*}:layer:tools"),
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:$x:1", f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:${{$}}x"),
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:tools:1", f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:tools"),
    ],
    ids=["name-star", "name-pattern", "region-and-account-star", "dollar", "valid"],
)
def test_a_layer_arn_parameter_never_gives_the_handler_a_wildcard_layer(given: str, layer: str) -> None:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Shared")
    arn = cdk.CfnParameter(stack, "ToolsLayerVersionArn").value_as_string
    LayerVersionPermission(stack, "Share", layer_version_arn=arn, principal="123456789012")
    template = app.synth().get_stack_by_name("Shared").template

    # Evaluated as CloudFormation would, with the parameter's value.
    values = StackValues(template, pseudo={}, given={"ToolsLayerVersionArn": given})
    resources = [
        resolve(resource, values, name)
        for name, body in resources_of(template, "AWS::IAM::ManagedPolicy").items()
        for resource in body["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
    ]

    assert sorted(resources) == sorted([layer, f"{layer}:*"])
