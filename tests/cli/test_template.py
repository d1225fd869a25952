"""Resolving a grant's properties as CloudFormation would, and stopping with advice where only a deploy knows."""

from __future__ import annotations

import pytest

from layer_share_cli.template import StackValues, Unresolvable, resolve

PSEUDO = {"AWS::AccountId": "111122223333", "AWS::Region": "eu-west-1", "AWS::Partition": "aws"}
TEMPLATE = {
    "Parameters": {
        "ConsumerAccount": {"Type": "String"},
        "ToolsLayerArn": {"Type": "String", "Default": "arn:aws:lambda:eu-west-1:111122223333:layer:tools:4"},
    },
    "Resources": {"DemoLayer": {"Type": "AWS::Lambda::LayerVersion"}},
}


def values(**given: str) -> StackValues:
    return StackValues(TEMPLATE, PSEUDO, given=given)


def test_a_layer_arn_from_a_parameter_is_split_as_the_construct_renders_it():
    # What the construct writes for a layer version ARN token that may name another account or region.
    parts = {"Fn::Split": [":", {"Ref": "ToolsLayerArn"}]}
    layer_name = {"Fn::Join": [":", [{"Fn::Select": [index, parts]} for index in range(7)]]}

    assert resolve(layer_name, values(), "LayerName") == "arn:aws:lambda:eu-west-1:111122223333:layer:tools"
    assert resolve({"Fn::Select": [7, parts]}, values(), "VersionNumber") == "4"


def test_a_given_parameter_wins_over_its_default():
    arn = "arn:aws:lambda:eu-west-1:111122223333:layer:tools:9"

    assert resolve({"Ref": "ToolsLayerArn"}, values(ToolsLayerArn=arn), "LayerName") == arn


def test_pseudo_parameters_and_sub_resolve_to_the_stack_environment():
    text = {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:layer:x"}

    assert resolve(text, values(), "LayerName") == "arn:aws:lambda:eu-west-1:111122223333:layer:x"


def test_a_parameter_without_value_or_default_names_itself_and_what_to_pass():
    with pytest.raises(Unresolvable) as stopped:
        resolve({"Ref": "ConsumerAccount"}, values(), "Principal of Prod/Layers/ToolsToConsumer")

    assert str(stopped.value) == (
        "Principal of Prod/Layers/ToolsToConsumer needs {'Ref': 'ConsumerAccount'}, the parameter ConsumerAccount, "
        "which has no default; pass --parameters ConsumerAccount=VALUE"
    )


def test_an_in_stack_layer_names_the_resource_and_what_to_pass():
    with pytest.raises(Unresolvable, match=r"the in-stack resource DemoLayer \(AWS::Lambda::LayerVersion\)") as stopped:
        resolve({"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "DemoLayer"}]}]}, values(), "LayerName of Demo/Share")

    assert "pass --parameters DemoLayer=VALUE (for a layer version, its ARN)" in str(stopped.value)


def test_an_in_stack_layer_resolves_to_the_arn_passed_for_it():
    arn = "arn:aws:lambda:eu-west-1:111122223333:layer:demo:1"
    name = {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "DemoLayer"}]}]}

    assert resolve(name, values(DemoLayer=arn), "LayerName") == "demo"


def test_an_attribute_stops_with_the_token_quoted():
    with pytest.raises(Unresolvable, match=r'needs \{"Fn::GetAtt": \["Other", "Arn"\]\}, which only a real deployment'):
        resolve({"Fn::GetAtt": ["Other", "Arn"]}, values(), "Principal of Demo/Share")
