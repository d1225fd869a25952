"""The example app as users and CI run it: cdk-nag, cfn-lint, the pinned CLI, and cdk.json's feature flags."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cfnlint.api import ManualArgs, lint_file

import app as example_app

from .conftest import CDK_JSON, REPO, SynthesizedApp, resources_of, synth_example_app

CDK_CLI = REPO / "node_modules" / ".bin" / "cdk"
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


def grants_in(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [body["Properties"] for body in resources_of(template, "Custom::LayerVersionPermission").values()]


def test_the_example_has_no_cdk_nag_findings(example: SynthesizedApp) -> None:
    report = json.loads((example.outdir / "validation-report.json").read_text())
    assert [plugin.get("violations") for plugin in report["pluginReports"] if plugin.get("violations")] == []


def test_every_acknowledged_finding_has_a_written_reason(example: SynthesizedApp) -> None:
    acknowledged = [
        entry.data
        for construct in example.app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]
    assert acknowledged, "the handler's layer policies acknowledge AwsSolutions-IAM5 with a reason"
    assert all(reason.strip() for entry in acknowledged for reason in entry.values()), acknowledged


def test_cdk_nag_runs_on_every_synth_of_the_example(tmp_path: Path) -> None:
    """The control for the zero-findings test: a finding does fail the example's synth."""
    app = cdk.App(outdir=str(tmp_path))
    stack = example_app.build_app(app)
    iam.Role(
        stack,
        "Offending",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
    )
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: .*AwsSolutions-IAM4"):
        app.synth()


@pytest.mark.slow
def test_the_example_template_passes_cfn_lint(example: SynthesizedApp) -> None:
    # W3005 (a DependsOn that a GetAtt already implies) is how CDK writes a Function's dependency on its role.
    matches = lint_file(example.template_file, config=ManualArgs(ignore_checks=["W3005"]))
    assert [str(match) for match in matches] == []


def test_the_example_shares_its_demo_layer_with_an_account_and_an_organization(example: SynthesizedApp) -> None:
    (layer_id,) = resources_of(example.template, "AWS::Lambda::LayerVersion")
    on_demo_layer = [
        (grant["Principal"], grant.get("OrganizationId"))
        for grant in grants_in(example.template)
        if grant["VersionNumber"] == {"Fn::Select": [7, {"Fn::Split": [":", {"Ref": layer_id}]}]}
    ]
    assert sorted(on_demo_layer) == [("*", example_app.PARTNER_ORGANIZATION), (example_app.PARTNER_ACCOUNT, None)]


def test_the_example_shares_a_layer_version_from_another_region(example: SynthesizedApp) -> None:
    (tools,) = [grant for grant in grants_in(example.template) if grant["VersionNumber"] == "7"]
    assert tools["LayerName"] == "arn:aws:lambda:us-west-2:111122223333:layer:tools"
    assert tools["Principal"] == example_app.PARTNER_ACCOUNT


def test_the_demo_layer_is_retained_so_that_retained_grants_stay_useful(example: SynthesizedApp) -> None:
    (layer,) = resources_of(example.template, "AWS::Lambda::LayerVersion").values()
    assert (layer["DeletionPolicy"], layer["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_context_arns_replace_the_demo_layer_and_make_every_grant_property_concrete(tmp_path: Path) -> None:
    """What a local deploy needs: layer versions that exist already, and no intrinsic left to resolve."""
    demo = "arn:aws:lambda:us-east-1:123456789012:layer:demo:3"
    tools = "arn:aws:lambda:eu-west-1:123456789012:layer:tools:1"
    template = synth_example_app(tmp_path, demo_layer_arn=demo, tools_layer_arn=tools).template
    assert resources_of(template, "AWS::Lambda::LayerVersion") == {}
    grants = grants_in(template)
    assert sorted(f"{grant['LayerName']}:{grant['VersionNumber']}" for grant in grants) == sorted([demo, demo, tools])
    for grant in grants:
        assert all(isinstance(value, str) for name, value in grant.items() if name != "ServiceToken"), grant


def recommended_feature_flags() -> dict[str, Any]:
    """The flags that the installed aws-cdk-lib recommends for new projects, from its own package."""
    (package,) = Path(cdk.__file__).parent.joinpath("_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(package) as archive:
        return json.load(archive.extractfile("package/recommended-feature-flags.json"))


@pytest.mark.pinned_cdk
def test_cdk_json_runs_the_app_with_the_recommended_feature_flags_of_the_pinned_aws_cdk_lib() -> None:
    settings = json.loads(CDK_JSON.read_text())
    assert settings["app"] == ".venv/bin/python app.py"
    assert settings["context"] == recommended_feature_flags()


@pytest.mark.slow
def test_the_pinned_cli_synthesizes_the_example_without_credentials(example: SynthesizedApp, tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name not in CREDENTIAL_VARIABLES}
    env.update(
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )
    outdir = tmp_path / "cdk.out"
    subprocess.run(
        [str(CDK_CLI), "synth", "--no-notices", "--quiet", "--output", str(outdir)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    from_cli = SynthesizedApp(example.app, outdir, example.stack_name)
    # The CLI adds its version-reporting resource; everything else is the same stack.
    assert set(from_cli.template["Resources"]) - {"CDKMetadata"} == set(example.template["Resources"])
    assert from_cli.function_asset_hash() == example.function_asset_hash()
