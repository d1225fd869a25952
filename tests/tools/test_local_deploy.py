"""The local deploy's verdicts: a FAILED response or a policy that differs from the template fails the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from layer_share_handler.entry import handler
from tools.local_deploy import Grant, LocalDeployFailed, LocalStack, check_policies, grants_in
from tools.standins import policy_statements

PARTNER = "223456789012"
REPO = Path(__file__).resolve().parents[2]


def grant_for(layer_version_arn: str, principal: str = PARTNER) -> Grant:
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    properties = {"LayerName": layer_arn, "VersionNumber": version, "StatementId": "share", "Principal": principal}
    return Grant("SharePartner", properties, retain_on_replace=True, retain_on_delete=False)


def test_template_properties_are_sent_as_strings_without_the_service_token():
    template = {
        "Resources": {
            "Share": {
                "Type": "Custom::LayerVersionPermission",
                "UpdateReplacePolicy": "Retain",
                "DeletionPolicy": "Delete",
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
                    "LayerName": "demo",
                    "VersionNumber": 3,
                    "StatementId": "share",
                    "Principal": PARTNER,
                    "ServiceTimeout": 300,
                },
            }
        }
    }

    [grant] = grants_in(template)

    assert grant.properties == {
        "LayerName": "demo",
        "VersionNumber": "3",
        "StatementId": "share",
        "Principal": PARTNER,
        "ServiceTimeout": "300",
    }
    assert grant.retain_on_replace and not grant.retain_on_delete


def test_a_property_that_is_not_concrete_is_refused_with_advice():
    template = {
        "Resources": {
            "Share": {
                "Type": "Custom::LayerVersionPermission",
                "Properties": {"LayerName": {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "Layer"}]}]}},
            }
        }
    }

    with pytest.raises(LocalDeployFailed, match=r"Share\.LayerName is .* not a concrete value"):
        grants_in(template)


def test_a_failed_response_stops_the_local_deploy(lambda_standin, receiver, layer_v1):
    def failing_handler(event, context):
        body = {"Status": "FAILED", "Reason": "no", "PhysicalResourceId": "x", "RequestId": event["RequestId"]}
        request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT")
        urllib.request.urlopen(request).close()

    stack = LocalStack(failing_handler, receiver, [grant_for(layer_v1)])

    with pytest.raises(LocalDeployFailed, match="Create SharePartner FAILED: no"):
        stack.create_all()


def test_a_policy_that_differs_from_the_template_fails_the_check(lambda_standin, receiver, lambda_api, layer_v1):
    stack = LocalStack(handler, receiver, [grant_for(layer_v1)])
    stack.create_all()
    assert check_policies(stack, {layer_v1}, "Create")
    layer_arn, version = layer_v1.rsplit(":", 1)
    lambda_api.remove_layer_version_permission(LayerName=layer_arn, VersionNumber=int(version), StatementId="share")
    assert policy_statements(lambda_api, layer_v1) == {}

    with pytest.raises(LocalDeployFailed, match="differ from the template: missing"):
        check_policies(stack, {layer_v1}, "hand edit")


def test_the_cli_deploys_a_synthesized_stack_that_names_its_layers_by_arn(tmp_path):
    """Synthesize the example app with layer ARNs of another account, then try it with the CLI alone."""
    context = {
        **json.loads((REPO / "cdk.json").read_text())["context"],
        "demo_layer_arn": "arn:aws:lambda:us-east-1:111122223333:layer:demo:3",
        "tools_layer_arn": "arn:aws:lambda:eu-west-1:111122223333:layer:tools:2",
        # What `cdk synth` sets: the local deploy finds the handler's asset through this metadata.
        "aws:cdk:enable-asset-metadata": True,
    }
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(
        CDK_OUTDIR=str(tmp_path),
        CDK_CONTEXT_JSON=json.dumps(context),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    subprocess.run([sys.executable, "app.py"], cwd=REPO, env=environment, check=True, timeout=300)

    run = subprocess.run(
        [sys.executable, "-m", "tools.local_deploy", str(tmp_path)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "lifecycle 4/4 ok: Delete the stack" in run.stdout
    assert "Update to new layer version demo:4 (replacement)" in run.stdout
    assert "3 grant resources, 9 CloudFormation events, all SUCCESS" in run.stdout


def test_the_cli_refuses_an_assembly_without_that_stack(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {}}))

    run = subprocess.run(
        [sys.executable, "-m", "tools.local_deploy", str(tmp_path), "--stack", "Missing"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 1
    assert "name one stack with --stack" in run.stderr
