"""`layer-share verify` against the Lambda stand-in (a moto server over HTTP), with drift made by hand."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from layer_share_cli.main import main
from layer_share_cli.network import WORST_CASE_SECONDS
from layer_share_cli.verify_command import check, from_stack
from tests.standins import publish_layer

LAYER_ACCOUNT, REGION = "111122223333", "eu-west-1"
PARTNER, OTHER_PARTNER, THIRD_PARTNER = "444455556666", "999988887777", "777788889999"
ORGANIZATION = "o-a1b2c3d4e5"
FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Metadata": {"aws:asset:path": "asset.handler"},
    "Properties": {"Handler": "layer_share_handler.entry.handler"},
}


def grant_resource(version_arn: str, statement_id: str, principal: Any, organization: str | None = None) -> dict:
    layer_arn, version = version_arn.rsplit(":", 1)
    properties = {
        "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
        "LayerName": layer_arn,
        "VersionNumber": version,
        "StatementId": statement_id,
        "Principal": principal,
    }
    return {
        "Type": "Custom::LayerVersionPermission",
        "Properties": {**properties, **({"OrganizationId": organization} if organization else {})},
    }


def shares_template(tools_v1: str) -> dict:
    return {
        "Parameters": {"Consumer": {"Type": "String"}},
        "Resources": {
            "Handler": FUNCTION,
            "ToAccount": grant_resource(tools_v1, "to-account", PARTNER),
            "ToOrganization": grant_resource(tools_v1, "to-organization", "*", ORGANIZATION),
            "ToConsumer": grant_resource(tools_v1, "to-consumer", {"Ref": "Consumer"}),
        },
    }


@pytest.fixture
def layer_account(lambda_standin, monkeypatch) -> Any:
    """boto3's default credentials act in the layer's account; a client there to arrange the policies by hand."""
    for name, value in lambda_standin.credentials(LAYER_ACCOUNT).items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.delenv("AWS_ENDPOINT_URL_LAMBDA")
    # boto3's default session keeps the credentials it first resolved: give verify a fresh one, for this test only.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return lambda_standin.client("lambda", LAYER_ACCOUNT, REGION)


@pytest.fixture
def tools_v1(layer_account, layer_name) -> str:
    return publish_layer(layer_account, layer_name)


@pytest.fixture
def assembly(tmp_path: Path, tools_v1: str) -> Path:
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Shares": {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{LAYER_ACCOUNT}/{REGION}",
                "properties": {"templateFile": "Shares.template.json"},
                "displayName": "Shares",
            }
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "Shares.template.json").write_text(json.dumps(shares_template(tools_v1)))
    return tmp_path


def add(client: Any, version_arn: str, statement_id: str, principal: str, organization: str | None = None) -> None:
    layer_arn, version = version_arn.rsplit(":", 1)
    optional = {"OrganizationId": organization} if organization else {}
    client.add_layer_version_permission(
        LayerName=layer_arn,
        VersionNumber=int(version),
        StatementId=statement_id,
        Action="lambda:GetLayerVersion",
        Principal=principal,
        **optional,
    )


def remove(client: Any, version_arn: str, statement_id: str) -> None:
    layer_arn, version = version_arn.rsplit(":", 1)
    client.remove_layer_version_permission(LayerName=layer_arn, VersionNumber=int(version), StatementId=statement_id)


def verify(capsys, lambda_standin, *arguments: str) -> tuple[int, dict]:
    status = main(["verify", *arguments, "--endpoint-url", lambda_standin.endpoint_url, "--json"])
    return status, json.loads(capsys.readouterr().out)


def deploy_as_declared(client: Any, tools_v1: str) -> None:
    add(client, tools_v1, "to-account", PARTNER)
    add(client, tools_v1, "to-organization", "*", ORGANIZATION)
    add(client, tools_v1, "to-consumer", THIRD_PARTNER)


def test_grants_that_match_their_statements_are_in_sync(capsys, lambda_standin, layer_account, tools_v1, assembly):
    deploy_as_declared(layer_account, tools_v1)

    status, report = verify(capsys, lambda_standin, str(assembly), "--parameters", f"Consumer={THIRD_PARTNER}")

    assert status == 0 and report["status"] == "in sync"
    assert {item["statement_id"]: item["status"] for item in report["grants"]} == {
        "to-account": "present",
        "to-organization": "present",
        "to-consumer": "present",
    }
    assert report["undeclared"] == [] and report["problems"] == []


def test_each_kind_of_drift_is_reported(capsys, lambda_standin, layer_account, tools_v1, assembly):
    deploy_as_declared(layer_account, tools_v1)
    remove(layer_account, tools_v1, "to-organization")  # a statement removed
    remove(layer_account, tools_v1, "to-account")  # a principal changed under the same StatementId
    add(layer_account, tools_v1, "to-account", OTHER_PARTNER)
    add(layer_account, tools_v1, "everyone", "*")  # a foreign public statement

    status, report = verify(capsys, lambda_standin, str(assembly), "--parameters", f"Consumer={THIRD_PARTNER}")

    assert status == 1 and report["status"] == "drift"
    grants = {item["statement_id"]: item for item in report["grants"]}
    assert grants["to-organization"]["status"] == "missing" and grants["to-organization"]["found"] is None
    assert grants["to-account"]["status"] == "changed"
    assert grants["to-account"]["declared"] == {"principal": PARTNER, "organization_id": None, "public": False}
    assert grants["to-account"]["found"] == {"principal": OTHER_PARTNER, "organization_id": None, "public": False}
    assert grants["to-consumer"]["status"] == "present"
    [foreign] = report["undeclared"]
    assert foreign["statement_id"] == "everyone" and foreign["grants"]["public"] is True
    # As Lambda documents a public statement: the bare "*" principal, no condition.
    assert foreign["statement"] == {
        "Sid": "everyone",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:GetLayerVersion",
        "Resource": tools_v1,
    }


def test_the_text_report_flags_a_public_statement(capsys, lambda_standin, layer_account, tools_v1, assembly):
    deploy_as_declared(layer_account, tools_v1)
    add(layer_account, tools_v1, "everyone", "*")

    status = main(
        [
            "verify",
            str(assembly),
            "--parameters",
            f"Consumer={THIRD_PARTNER}",
            "--endpoint-url",
            lambda_standin.endpoint_url,
        ]
    )

    output = capsys.readouterr().out
    assert status == 1
    assert "Public (* without an organization, so every AWS account may use the layer version):" in output
    assert f"{tools_v1} everyone" in output
    assert output.rstrip().endswith(
        "Drift: 3 present, 0 missing, 0 changed, 0 outside the window, 1 not declared, 0 not checked"
    )


def test_a_layer_version_that_cannot_be_read_is_could_not_check(capsys, lambda_standin, layer_account, assembly):
    # The template names a layer version that does not exist in the account: Lambda answers ResourceNotFound.
    template = assembly / "Shares.template.json"
    template.write_text(template.read_text().replace('"VersionNumber": "1"', '"VersionNumber": "2"'))

    status, report = verify(capsys, lambda_standin, str(assembly), "--parameters", f"Consumer={THIRD_PARTNER}")

    assert status == 2 and report["status"] == "could not check"
    assert {item["status"] for item in report["grants"]} == {"unchecked"}
    assert report["grants"][0]["problem"].startswith("ResourceNotFoundException: ")


def test_a_parameter_the_assembly_cannot_resolve_is_could_not_check(capsys, lambda_standin, layer_account, assembly):
    status, report = verify(capsys, lambda_standin, str(assembly))

    assert status == 2
    assert report["problems"] == [
        "Principal of Shares/ToConsumer needs {'Ref': 'Consumer'}, the parameter Consumer, which has no default; "
        "pass --parameters Consumer=VALUE"
    ]


def test_a_deployed_stack_is_read_from_its_template_parameters_and_physical_ids(
    lambda_standin, layer_account, tools_v1
):
    """CloudFormation is stubbed with the answers it documents; Lambda is the stand-in."""
    stack_id = f"arn:aws:cloudformation:{REGION}:{LAYER_ACCOUNT}:stack/Shares/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(cloudformation)
    stack = {"StackName": "Shares", "StackId": stack_id, "CreationTime": "2026-01-01T00:00:00Z"}
    stack |= {
        "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [{"ParameterKey": "Consumer", "ParameterValue": THIRD_PARTNER}],
    }
    stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "Shares"})
    stubber.add_response(
        "get_template",
        {"TemplateBody": json.dumps(shares_template(tools_v1))},
        {"StackName": stack_id, "TemplateStage": "Processed"},
    )
    summaries = [
        {
            "LogicalResourceId": logical_id,
            # The handler's PhysicalResourceId: <LayerVersionArn>#<StatementId>#<RevisionId>.
            "PhysicalResourceId": f"{tools_v1}#{statement_id}#0a1b2c3d-rev",
            "ResourceType": "Custom::LayerVersionPermission",
            "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for logical_id, statement_id in (
            ("ToAccount", "to-account"),
            ("ToOrganization", "to-organization"),
            ("ToConsumer", "to-consumer"),
        )
    ]
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": stack_id})
    deploy_as_declared(layer_account, tools_v1)
    remove(layer_account, tools_v1, "to-consumer")

    with stubber:
        declared = from_stack(cloudformation, "Shares", {})
    report = check(declared, lambda region: lambda_standin.client("lambda", LAYER_ACCOUNT, region))

    assert {(state.declared.grant, state.status) for state in report.grants} == {
        ("Shares/ToAccount", "present"),
        ("Shares/ToOrganization", "present"),
        ("Shares/ToConsumer", "missing"),
    }
    assert report.exit_status == 1


@pytest.fixture
def kept_assembly(tmp_path: Path, layer_account, layer_name) -> tuple[Path, list[str]]:
    """A grant on version 3 of a layer that keeps its two newest versions shared."""
    versions = [publish_layer(layer_account, layer_name) for _ in range(3)]
    grant = grant_resource(versions[2], "kept", PARTNER)
    grant["Properties"]["KeepVersions"] = "2"
    template = {"Resources": {"Handler": FUNCTION, "Kept": grant}}
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Kept": {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{LAYER_ACCOUNT}/{REGION}",
                "properties": {"templateFile": "Kept.template.json"},
            }
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "Kept.template.json").write_text(json.dumps(template))
    return tmp_path, versions


def test_the_versions_retention_keeps_are_checked_and_a_grant_outside_the_window_is_drift(
    capsys, lambda_standin, layer_account, kept_assembly
):
    assembly, (v1, v2, v3) = kept_assembly
    add(layer_account, v3, "kept", PARTNER)
    add(layer_account, v2, "kept", OTHER_PARTNER)  # changed by hand on a kept version
    add(layer_account, v1, "kept", PARTNER)  # left on a version beyond the two kept

    status, report = verify(capsys, lambda_standin, str(assembly))

    assert status == 1 and report["status"] == "drift"
    assert {(item["layer_version_arn"], item["status"]) for item in report["grants"]} == {
        (v3, "present"),
        (v2, "changed"),
        (v1, "outside"),
    }


def test_a_kept_version_without_the_grant_is_missing(capsys, lambda_standin, layer_account, kept_assembly):
    assembly, (_, v2, v3) = kept_assembly
    add(layer_account, v3, "kept", PARTNER)

    status, report = verify(capsys, lambda_standin, str(assembly))

    assert status == 1
    assert {(item["layer_version_arn"], item["status"]) for item in report["grants"]} == {
        (v3, "present"),
        (v2, "missing"),
    }


@pytest.fixture
def black_hole() -> Any:
    """An endpoint that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in [*accepted, server]:
        connection.close()


def test_an_endpoint_that_never_answers_is_could_not_check_within_the_stated_bound(
    capsys, layer_account, kept_assembly, black_hole
):
    assembly, _ = kept_assembly

    started = time.monotonic()
    status = main(["verify", str(assembly), "--endpoint-url", black_hole, "--json"])
    elapsed = time.monotonic() - started

    report = json.loads(capsys.readouterr().out)
    assert status == 2 and report["status"] == "could not check"
    assert "timeout" in report["error"].lower()
    assert elapsed <= WORST_CASE_SECONDS <= 10


def test_a_deployed_grant_on_another_stacks_layer_is_checked_from_its_physical_id(
    lambda_standin, layer_account, tools_v1
):
    stack_id = f"arn:aws:cloudformation:{REGION}:{LAYER_ACCOUNT}:stack/Consumers/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    imported = {"Fn::ImportValue": "Layers:ExportsOutputRefTools"}
    grant = grant_resource(tools_v1, "to-account", PARTNER)
    grant["Properties"]["LayerName"] = {"Fn::Select": [6, {"Fn::Split": [":", imported]}]}
    grant["Properties"]["VersionNumber"] = {"Fn::Select": [7, {"Fn::Split": [":", imported]}]}
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(cloudformation)
    stack = {"StackName": "Consumers", "StackId": stack_id, "CreationTime": "2026-01-01T00:00:00Z"}
    stubber.add_response("describe_stacks", {"Stacks": [{**stack, "StackStatus": "UPDATE_COMPLETE"}]})
    template = {"Resources": {"Handler": FUNCTION, "ToAccount": grant}}
    stubber.add_response("get_template", {"TemplateBody": json.dumps(template)})
    summary = {
        "LogicalResourceId": "ToAccount",
        "PhysicalResourceId": f"{tools_v1}#to-account#0a1b2c3d-rev",
        "ResourceType": "Custom::LayerVersionPermission",
        "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
        "ResourceStatus": "CREATE_COMPLETE",
    }
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [summary]})
    add(layer_account, tools_v1, "to-account", PARTNER)

    with stubber:
        declared = from_stack(cloudformation, "Consumers", {})
    report = check(declared, lambda region: lambda_standin.client("lambda", LAYER_ACCOUNT, region))

    assert [(state.layer_version.arn, state.status) for state in report.grants] == [(tools_v1, "present")]


def test_an_environment_agnostic_stack_is_checked_where_account_and_region_say(
    capsys, lambda_standin, layer_account, layer_name, tools_v1, tmp_path
):
    grant = grant_resource(tools_v1, "to-account", PARTNER)
    grant["Properties"]["LayerName"] = layer_name  # a bare name: the stack's own account and region
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Agnostic": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/unknown-region",
                "properties": {"templateFile": "Agnostic.template.json"},
            }
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "Agnostic.template.json").write_text(json.dumps({"Resources": {"Handler": FUNCTION, "G": grant}}))
    add(layer_account, tools_v1, "to-account", PARTNER)

    status = main(
        [
            "verify",
            str(tmp_path),
            "--account",
            LAYER_ACCOUNT,
            "--region",
            REGION,
            "--endpoint-url",
            lambda_standin.endpoint_url,
            "--json",
        ]
    )

    captured = capsys.readouterr()
    assert status == 0, captured.out
    assert f"checked in account {LAYER_ACCOUNT}, region {REGION}" in captured.err
    assert [item["layer_version_arn"] for item in json.loads(captured.out)["grants"]] == [tools_v1]
