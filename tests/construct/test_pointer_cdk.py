"""The "latest shared version" pointer: what the producer's template declares, what synth stops, and what a consumer
in another account synthesizes against it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template

from layer_share import LayerVersionPermission, LayerVersionSharing, PointerOptions, SharedLayer
from layer_share.pointer import ORGANIZATION_SHARING_WARNING

from .conftest import REPO, cdk_json_context, resources_of

PRODUCER = cdk.Environment(account="111122223333", region="eu-west-1")
CONSUMER = cdk.Environment(account="444455556666", region="eu-west-1")
TOOLS_7 = "arn:aws:lambda:eu-west-1:111122223333:layer:tools:7"
TOOLS_POINTER = "/layer-share/tools/latest"
TOOLS_POINTER_ARN = "arn:aws:ssm:eu-west-1:111122223333:parameter/layer-share/tools/latest"
ORGANIZATION = "o-a1b2c3d4e5"
ORGANIZATION_ARN = f"arn:aws:organizations::111122223333:organization/{ORGANIZATION}"
LAYER_CODE = REPO / "example" / "demo_layer"


def producer_stack(app: cdk.App | None = None) -> cdk.Stack:
    return cdk.Stack(app or cdk.App(context=cdk_json_context()), "Layers", env=PRODUCER)


def the_one(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = template.find_resources(resource_type).items()
    return item


def grant_ids(template: Template) -> list[str]:
    return sorted(template.find_resources("Custom::LayerVersionPermission"))


def synth_errors(app: cdk.App) -> list[str]:
    with pytest.raises(RuntimeError) as error:
        app.synth()
    return [line.strip() for line in str(error.value).splitlines()[1:] if line.strip()]


def test_accounts_get_an_advanced_parameter_shared_through_ram_after_their_grants_exist() -> None:
    stack = producer_stack()
    sharing = LayerVersionSharing(
        stack,
        "Tools",
        layer_version_arn=TOOLS_7,
        accounts=["223456789012", "334455667788"],
        publish_pointer=PointerOptions(),
    )

    template = Template.from_stack(stack)

    assert sharing.pointer is not None and sharing.pointer.parameter_arn == TOOLS_POINTER_ARN
    parameter_id, parameter = the_one(template, "AWS::SSM::Parameter")
    properties = parameter["Properties"]
    # Only the advanced tier can be shared through RAM.
    assert {name: properties[name] for name in ("Name", "Type", "Tier", "Value")} == {
        "Name": TOOLS_POINTER,
        "Type": "String",
        "Tier": "Advanced",
        "Value": TOOLS_7,
    }
    # The parameter moves only once every grant of the new version exists.
    assert sorted(parameter["DependsOn"]) == grant_ids(template)
    _, share = the_one(template, "AWS::RAM::ResourceShare")
    assert share["Properties"]["Principals"] == ["223456789012", "334455667788"]
    assert share["Properties"]["ResourceArns"] == [TOOLS_POINTER_ARN]
    assert share["DependsOn"] == [parameter_id]
    template.has_output("*", {"Value": TOOLS_POINTER_ARN})


def test_an_organization_is_shared_by_its_arn_with_a_warning_to_acknowledge() -> None:
    stack = producer_stack()
    LayerVersionSharing(
        stack,
        "Tools",
        layer_version_arn=TOOLS_7,
        accounts=["223456789012"],
        organization_ids=[ORGANIZATION],
        publish_pointer=PointerOptions(organization_arns=[ORGANIZATION_ARN]),
    )

    template = Template.from_stack(stack)

    template.has_resource_properties("AWS::RAM::ResourceShare", {"Principals": ["223456789012", ORGANIZATION_ARN]})
    Annotations.from_stack(stack).has_warning(
        "/Layers/Tools", Match.string_like_regexp("enable-sharing-with-aws-organization.*accept an invitation")
    )
    assert ORGANIZATION_SHARING_WARNING == "layer-share:PointerOrganizationSharing"


def test_an_organization_grant_of_layer_version_permission_shares_its_pointer_with_the_organization_only() -> None:
    stack = producer_stack()
    LayerVersionPermission(
        stack,
        "ToOrg",
        layer_version_arn=TOOLS_7,
        principal="*",
        organization_id=ORGANIZATION,
        publish_pointer=PointerOptions(organization_arns=[ORGANIZATION_ARN]),
    )

    Template.from_stack(stack).has_resource_properties("AWS::RAM::ResourceShare", {"Principals": [ORGANIZATION_ARN]})


def test_a_token_principal_is_the_ram_principal_and_a_root_arn_becomes_its_account() -> None:
    stack = producer_stack()
    consumer = cdk.CfnParameter(stack, "Consumer", type="String")
    LayerVersionPermission(
        stack,
        "ToConsumer",
        layer_version_arn=TOOLS_7,
        principal=consumer.value_as_string,
        publish_pointer=PointerOptions(),
    )
    LayerVersionPermission(
        stack,
        "ToPartner",
        layer_version_arn="arn:aws:lambda:eu-west-1:111122223333:layer:runtime:3",
        principal="arn:aws:iam::223456789012:root",
        publish_pointer=PointerOptions(),
    )

    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::RAM::ResourceShare",
        {"Principals": [{"Ref": "Consumer"}], "ResourceArns": [TOOLS_POINTER_ARN]},
    )
    template.has_resource_properties(
        "AWS::RAM::ResourceShare",
        {"Principals": ["223456789012"], "ResourceArns": [TOOLS_POINTER_ARN.replace("tools", "runtime")]},
    )


def test_a_layer_defined_in_the_stack_points_at_its_new_version_under_the_name_given() -> None:
    stack = producer_stack()
    layer = lambda_.LayerVersion(stack, "Layer", code=lambda_.Code.from_asset(str(LAYER_CODE)))
    LayerVersionSharing(
        stack,
        "Share",
        layer_version=layer,
        accounts=["223456789012"],
        publish_pointer=PointerOptions(parameter_name="/platform/tools"),
    )

    template = Template.from_stack(stack)

    (layer_id,) = template.find_resources("AWS::Lambda::LayerVersion")
    template.has_resource_properties("AWS::SSM::Parameter", {"Name": "/platform/tools", "Value": {"Ref": layer_id}})
    template.has_resource_properties(
        "AWS::RAM::ResourceShare",
        {"ResourceArns": ["arn:aws:ssm:eu-west-1:111122223333:parameter/platform/tools"]},
    )


def test_without_publish_pointer_there_is_no_parameter_and_no_share() -> None:
    stack = producer_stack()
    LayerVersionSharing(stack, "Tools", layer_version_arn=TOOLS_7, accounts=["223456789012"])

    template = Template.from_stack(stack)

    template.resource_count_is("AWS::SSM::Parameter", 0)
    template.resource_count_is("AWS::RAM::ResourceShare", 0)


def test_synth_lists_every_pointer_problem_at_once_with_path_prop_value_and_fix() -> None:
    app = cdk.App(context=cdk_json_context())
    stack = producer_stack(app)
    LayerVersionPermission(
        stack,
        "Public",
        layer_version_arn="arn:aws:lambda:eu-west-1:111122223333:layer:samples:1",
        principal="*",
        allow_all_accounts=True,
        publish_pointer=PointerOptions(),
    )
    LayerVersionSharing(
        stack, "First", layer_version_arn=TOOLS_7, accounts=["223456789012"], publish_pointer=PointerOptions()
    )
    LayerVersionSharing(
        stack,
        "Again",
        layer_version_arn="arn:aws:lambda:eu-west-1:111122223333:layer:tools:8",
        accounts=["223456789012"],
        publish_pointer=PointerOptions(),
    )
    LayerVersionSharing(
        stack,
        "BadName",
        layer_version_arn="arn:aws:lambda:eu-west-1:111122223333:layer:runtime:1",
        accounts=["223456789012"],
        publish_pointer=PointerOptions(parameter_name="aws/has space"),
    )
    LayerVersionSharing(
        stack,
        "Orgs",
        layer_version_arn="arn:aws:lambda:eu-west-1:111122223333:layer:base:1",
        organization_ids=[ORGANIZATION, "o-b2c3d4e5f6"],
        publish_pointer=PointerOptions(
            organization_arns=[ORGANIZATION_ARN, "arn:aws:organizations::111122223333:organization/o-zzzzzzzzzz"]
        ),
    )
    LayerVersionSharing(
        stack,
        "OrgId",
        layer_version_arn="arn:aws:lambda:eu-west-1:111122223333:layer:extra:1",
        organization_ids=[ORGANIZATION],
        publish_pointer=PointerOptions(organization_arns=[ORGANIZATION]),
    )

    errors = synth_errors(app)

    assert errors == [
        "[Layers/Public] LayerVersionPermission: publish_pointer is not for a public grant (principal='*' without "
        "organization_id): RAM cannot share the pointer with every AWS account; publish the ARN another way, or "
        "share with accounts or an organization",
        "[Layers/Again] LayerVersionSharing: publish_pointer: Layers/First already publishes the pointer of layer "
        "'arn:aws:lambda:eu-west-1:111122223333:layer:tools' in this stack; a layer has one pointer, so give "
        "publish_pointer to one of them only",
        "[Layers/BadName] LayerVersionSharing: publish_pointer.parameter_name='aws/has space' is invalid: SSM allows "
        "only letters, digits and '_', '.', '-', '/'",
        "[Layers/BadName] LayerVersionSharing: publish_pointer.parameter_name='aws/has space' is invalid: SSM "
        "reserves names that begin with 'aws' or 'ssm'; choose another",
        "[Layers/BadName] LayerVersionSharing: publish_pointer.parameter_name='aws/has space' is invalid: a name "
        "with levels begins with '/'; write '/aws/has space'",
        "[Layers/Orgs] LayerVersionSharing: the grant shares with organization 'o-b2c3d4e5f6', and RAM names an "
        "organization by its ARN: add 'arn:aws:organizations::<management-account>:organization/o-b2c3d4e5f6' to "
        "publish_pointer.organization_arns (aws organizations describe-organization prints it)",
        "[Layers/Orgs] LayerVersionSharing: publish_pointer.organization_arns[1]="
        "'arn:aws:organizations::111122223333:organization/o-zzzzzzzzzz' names o-zzzzzzzzzz, which the grant does "
        "not share the layer version with; the pointer goes to the grant's principals only: remove it, or share "
        "the layer version with that organization too",
        "[Layers/OrgId] LayerVersionSharing: publish_pointer.organization_arns[0]='o-a1b2c3d4e5' is not an "
        "organization ARN; expected arn:aws:organizations::<management-account>:organization/o-...",
    ]


def test_the_public_grant_is_not_counted_as_the_layers_pointer_when_refused() -> None:
    """A refused pointer takes no name and no layer: fixing it leaves no stale 'already' error."""
    app = cdk.App(context=cdk_json_context())
    stack = producer_stack(app)
    LayerVersionPermission(
        stack,
        "Public",
        layer_version_arn=TOOLS_7,
        principal="*",
        allow_all_accounts=True,
        publish_pointer=PointerOptions(),
    )
    LayerVersionSharing(
        stack, "Tools", layer_version_arn=TOOLS_7, accounts=["223456789012"], publish_pointer=PointerOptions()
    )

    assert [error.split("]")[0] for error in synth_errors(app)] == ["[Layers/Public"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/a//b", "has an empty level ('//' or a trailing '/')"),
        ("/a/b/", "has an empty level"),
        ("/" + "/".join(["l"] * 16), "it has 16 levels, past SSM's 15"),
        ("/" + "n" * 970, "with its ARN (arn:aws:ssm:eu-west-1:111122223333:parameter/...), 1015 characters here"),
        ("/SSM/tools", "SSM reserves names that begin with 'aws' or 'ssm'"),
    ],
)
def test_parameter_names_follow_ssms_rules(name: str, expected: str) -> None:
    app = cdk.App(context=cdk_json_context())
    LayerVersionSharing(
        producer_stack(app),
        "Tools",
        layer_version_arn=TOOLS_7,
        accounts=["223456789012"],
        publish_pointer=PointerOptions(parameter_name=name),
    )

    (error,) = synth_errors(app)

    assert "publish_pointer.parameter_name=" in error and expected in error


def test_the_longest_name_ssm_allows_passes() -> None:
    prefix = "arn:aws:ssm:eu-west-1:111122223333:parameter/"
    stack = producer_stack()
    LayerVersionSharing(
        stack,
        "Tools",
        layer_version_arn=TOOLS_7,
        accounts=["223456789012"],
        publish_pointer=PointerOptions(parameter_name="/" + "n" * (1011 - len(prefix))),
    )

    Template.from_stack(stack).resource_count_is("AWS::SSM::Parameter", 1)


def test_a_layer_known_only_at_deploy_time_needs_a_parameter_name() -> None:
    app = cdk.App(context=cdk_json_context())
    stack = producer_stack(app)
    layer = lambda_.LayerVersion(stack, "Layer", code=lambda_.Code.from_asset(str(LAYER_CODE)))
    LayerVersionSharing(
        stack, "Share", layer_version=layer, accounts=["223456789012"], publish_pointer=PointerOptions()
    )

    assert synth_errors(app) == [
        "[Layers/Share] LayerVersionSharing: publish_pointer.parameter_name is needed: the layer version ARN is known "
        "only at deploy time, and consumers need the pointer's name at synth; give a name such as "
        "'/layer-share/<layer name>/latest'"
    ]


def test_one_parameter_name_for_two_layers_is_refused() -> None:
    app = cdk.App(context=cdk_json_context())
    stack = producer_stack(app)
    for name in ("tools", "runtime"):
        LayerVersionSharing(
            stack,
            name.title(),
            layer_version_arn=f"arn:aws:lambda:eu-west-1:111122223333:layer:{name}:1",
            accounts=["223456789012"],
            publish_pointer=PointerOptions(parameter_name="/platform/layer"),
        )

    assert synth_errors(app) == [
        "[Layers/Runtime] LayerVersionSharing: publish_pointer.parameter_name='/platform/layer' is already the "
        "pointer of Layers/Tools; an account has one parameter by that name in a region, so choose another name"
    ]


def test_a_consumer_app_in_another_account_deploys_its_function_with_the_version_the_pointer_holds() -> None:
    producer = producer_stack()
    sharing = LayerVersionSharing(
        producer, "Tools", layer_version_arn=TOOLS_7, accounts=[CONSUMER.account], publish_pointer=PointerOptions()
    )
    assert sharing.pointer is not None
    # The consumer is another app: it knows the pointer by the ARN the producer publishes.
    consumer_app = cdk.App(context=cdk_json_context())
    consumer = cdk.Stack(consumer_app, "Service", env=CONSUMER)
    tools = SharedLayer.latest(consumer, "Tools", parameter_arn=sharing.pointer.parameter_arn)
    lambda_.Function(
        consumer,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): return None"),
        layers=[tools],
    )

    template = consumer_app.synth().get_stack_by_name("Service").template

    (pointer_id,) = [
        name
        for name, parameter in template["Parameters"].items()
        if parameter == {"Type": "AWS::SSM::Parameter::Value<String>", "Default": TOOLS_POINTER_ARN}
    ]
    (function,) = resources_of(template, "AWS::Lambda::Function").values()
    assert function["Properties"]["Layers"] == [{"Ref": pointer_id}]


def test_shared_layer_refuses_what_is_not_a_parameter_arn() -> None:
    consumer = cdk.Stack(cdk.App(context=cdk_json_context()), "Service", env=CONSUMER)

    with pytest.raises(ValueError, match=r"parameter_arn='/layer-share/tools/latest' is not an SSM parameter ARN"):
        SharedLayer.latest(consumer, "Tools", parameter_arn=TOOLS_POINTER)
