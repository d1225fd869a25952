"""The one reader of an app's grants (`read_app`): parameters per stack, values other stacks export, and the grants
set aside when no stack provides a value. Hand-written assemblies; nothing is deployed."""

from __future__ import annotations

import json
from pathlib import Path

from layer_share_cli.assembly import stacks_in
from layer_share_cli.grants import Parameters, read_app
from tests.cli.assemblies import FUNCTION, GRANT, LAYER, write_assembly


def two_stacks(directory: Path, consumer_template: dict) -> Path:
    """`Shares` exports the tools layer's ARN; `Consumer` (which depends on it) has the template given."""
    exporting = {
        "Parameters": {"Partner": {"Type": "String"}},
        "Resources": {"Handler": FUNCTION, "Share": with_principal({"Ref": "Partner"})},
        "Outputs": {"Tools": {"Value": LAYER, "Export": {"Name": "Shares:Tools"}}},
    }
    write_assembly(directory, exporting)
    manifest = json.loads((directory / "manifest.json").read_text())
    consumer = dict(manifest["artifacts"]["Shares"], dependencies=["Shares"], displayName="Consumer")
    consumer["properties"] = {"templateFile": "Consumer.template.json"}
    # The manifest lists the consumer first: the reader still reads its dependency before it.
    manifest["artifacts"] = {"Consumer": consumer, **manifest["artifacts"]}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / "Consumer.template.json").write_text(json.dumps(consumer_template))
    return directory


def with_principal(principal: object, **properties: object) -> dict:
    return {**GRANT, "Properties": {**GRANT["Properties"], "Principal": principal, **properties}}


def consumer(layer_name: object, principal: object = "777788889999") -> dict:
    grant = with_principal(principal, LayerName=layer_name)
    grant["Metadata"] = {"aws:cdk:path": "Consumer/ToConsumer/Resource"}
    return {"Parameters": {"Partner": {"Type": "String"}}, "Resources": {"Handler": FUNCTION, "ToConsumer": grant}}


def principals(directory: Path, parameters: dict[str, str]) -> dict[str, str]:
    read = read_app(stacks_in(directory), Parameters(parameters))
    return {grant.path: grant.properties["Principal"] for grant in read.grants}


def test_a_stack_parameter_wins_over_the_bare_one(tmp_path):
    assembly = two_stacks(tmp_path / "cdk.out", consumer({"Fn::ImportValue": "Shares:Tools"}, {"Ref": "Partner"}))

    found = principals(assembly, {"Partner": "444455556666", "Consumer:Partner": "999988887777"})

    assert found == {"Shares/Share": "444455556666", "Consumer/ToConsumer": "999988887777"}


def test_an_export_of_another_stack_resolves_in_dependency_order(tmp_path):
    assembly = two_stacks(tmp_path / "cdk.out", consumer({"Fn::ImportValue": "Shares:Tools"}))

    read = read_app(stacks_in(assembly), Parameters({"Partner": "444455556666"}))

    assert [grant.path for grant in read.grants] == ["Shares/Share", "Consumer/ToConsumer"]
    assert read.grants[1].properties["LayerName"] == LAYER


def test_only_the_grant_that_needs_a_missing_value_is_set_aside(tmp_path):
    assembly = two_stacks(tmp_path / "cdk.out", consumer({"Fn::ImportValue": "Elsewhere:Tools"}))

    read = read_app(stacks_in(assembly), Parameters({"Partner": "444455556666"}))

    assert [grant.path for grant in read.grants] == ["Shares/Share"]
    [unplayable] = read.unplayable
    assert unplayable.path == "Consumer/ToConsumer"
    assert '{"Fn::ImportValue": "Elsewhere:Tools"}, which no stack of this app exports' in unplayable.reason
    assert "(construct Consumer/ToConsumer/Resource)" in unplayable.reason


def test_a_missing_parameter_names_the_stack_the_logical_id_and_the_construct_path(tmp_path):
    assembly = two_stacks(tmp_path / "cdk.out", consumer(LAYER, {"Ref": "Partner"}))

    read = read_app(stacks_in(assembly), Parameters({"Shares:Partner": "444455556666"}))

    [unplayable] = read.unplayable
    assert unplayable.reason.startswith("Principal of Consumer/ToConsumer needs {'Ref': 'Partner'}, the parameter")
    assert unplayable.reason.endswith("(construct Consumer/ToConsumer/Resource)")
