"""`layer-share try` on an app written as a user would (tests/user_app): a Stage, a nested stack, organization-only
and public grants, a CfnParameter as a principal, layer versions by ARN. Synthesized by the pinned CDK CLI; the
command runs as installed, in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
USER_APP = REPO / "tests" / "user_app"
LAYER_SHARE = Path(sys.executable).parent / "layer-share"
CONSUMER = "--parameters", "ConsumerAccount=555566667777"
pytestmark = pytest.mark.slow


def synth(outdir: Path, **context: str) -> Path:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    command = [str(REPO / "node_modules/.bin/cdk"), "synth", "--quiet", "--app", f"{sys.executable} app.py"]
    command += ["--output", str(outdir)] + [
        item for name, value in context.items() for item in ("-c", f"{name}={value}")
    ]
    subprocess.run(command, cwd=USER_APP, env=environment, check=True, timeout=300, capture_output=True)
    return outdir


@pytest.fixture(scope="module")
def synths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The app as deployed today, and the change: a new tools layer version and another partner organization."""
    directory = tmp_path_factory.mktemp("user-app")
    previous = synth(directory / "previous")
    current = synth(directory / "current", tools_version="3", partner_org="o-b2c3d4e5f6")
    return previous, current


def layer_share(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAYER_SHARE), *arguments], capture_output=True, text=True, timeout=300)


def rows(output: str, section: str) -> list[list[str]]:
    """The rows of one table of the output, split on runs of spaces, headers left out."""
    table = output.split(f"\n{section}\n")[1].split("\n\n")[0]
    return [line.split() for line in table.splitlines()[1:]]


def test_the_change_is_played_as_cloudformation_would_with_stages_and_nested_stacks(synths):
    previous, current = synths

    run = layer_share("try", str(current), "--from", str(previous), *CONSUMER)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Deploy the previous synth" in run.stdout and "5 grants in 3 stacks" in run.stdout
    change = run.stdout.split("Change to")[1].split("Grants before the change:")[0]
    nested = "Prod/Layers/RuntimeNestedStackRuntimeNestedStackResourceAA41CB9F"
    assert "Update  Prod/Layers/ToolsToConsumer255A2A88 (replacement)" in change
    assert f"Create  {nested}/RuntimeOrganizationob2c3d4e5f6" in change
    assert f"Delete  {nested}/RuntimeOrganizationoa1b2c3d4e554021E49 (removed)" in change
    # The replaced grant's cleanup Delete: the handler keeps its version, as the grant keeps every version.
    assert "Delete  Prod/Layers/ToolsToConsumer255A2A88 (replaced)" in change
    assert "Sandbox" not in change  # an unchanged grant gets no event

    diff = {(row[0], row[1], row[4], row[5]) for row in rows(run.stdout, "Diff:")}
    assert ("granted", "tools:3", "555566667777", "-") in diff
    assert ("granted", "tools:3", "*", "o-zz9yy8xx7w") in diff
    assert ("granted", "runtime:5", "*", "o-b2c3d4e5f6") in diff
    assert ("revoked", "runtime:5", "*", "o-a1b2c3d4e5") in diff
    assert ("kept", "tools:2", "555566667777", "-") in diff  # retained on the old version
    assert ("kept", "runtime:5", "444455556666", "-") in diff
    assert ("kept", "samples:1", "*", "(public)") in diff
    assert "Done: 11 CloudFormation events, all SUCCESS" in run.stdout


def test_one_stack_of_a_stage_is_named_by_its_path(synths):
    _, current = synths

    run = layer_share("try", str(current), "--stack", "Prod/Layers", *CONSUMER)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "4 grants in 2 stacks" in run.stdout and "Sandbox" not in run.stdout
    assert {row[0] for row in rows(run.stdout, "Grants after:")} == {"tools:3", "runtime:5"}


def test_only_the_grant_that_needs_a_parameter_without_a_value_is_not_played(synths):
    _, current = synths

    run = layer_share("try", str(current))

    assert run.returncode == 2
    [line] = run.stderr.splitlines()
    assert line.startswith("layer-share try: Prod/Layers/ToolsToConsumer255A2A88 was not played: ")
    assert "the parameter ConsumerAccount, which has no default; pass --parameters ConsumerAccount=VALUE" in line
    assert "(construct Prod/Layers/ToolsToConsumer/Resource)" in line
    assert "Create  Prod/Layers/ToolsToOrgBEF24D69" in run.stdout  # the other grants are played


def test_a_parameter_can_take_another_value_in_each_synth_of_the_history(synths):
    previous, current = synths

    run = layer_share(
        "try",
        str(current),
        "--from",
        str(previous),
        *CONSUMER,
        "--synth-parameters",
        str(previous),
        "Prod/Layers:ConsumerAccount=444455556666",
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    diff = {(row[0], row[1], row[4]) for row in rows(run.stdout, "Diff:")}
    assert ("granted", "tools:3", "555566667777") in diff
    # The previous synth granted 444455556666; a new principal applies to every version that keeps the grant.
    assert ("revoked", "tools:2", "444455556666") in diff
    assert ("granted", "tools:2", "555566667777") in diff


def test_a_failed_response_fails_the_command_with_the_handlers_reason(synths):
    _, current = synths

    run = layer_share("try", str(current), "--parameters", "ConsumerAccount=12345")

    assert run.returncode == 1
    assert "Create Prod/Layers/ToolsToConsumer255A2A88 FAILED: Principal '12345' does not match" in run.stderr
