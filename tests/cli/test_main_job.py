"""The main job end to end: three real CLI synths with cdk-nag, cfn-lint, and `layer-share try` on the history."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
DEMO_3 = "arn:aws:lambda:us-east-1:111122223333:layer:demo:3"


def test_main_job_synthesizes_lints_and_tries_the_change_with_layer_share():
    environment = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    run = subprocess.run(
        [sys.executable, "-m", "example.main_job"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    output = run.stdout
    assert "[4/4] layer-share try cdk.out --from cdk.out.v1 --from cdk.out.v2" in output
    assert "Deploy the previous synth" in output and "3 grants in 1 stack" in output
    # The pointer moves to version 3 after both of its grants; `try` does not play it.
    assert "pointer /layer-share/demo/latest (Advanced SSM parameter) = " + DEMO_3 in output
    assert "shared through RAM with 444455556666, arn:aws:organizations::" in output
    # The tools layer's new principal is an Update in place; each new demo layer version replaces its two grants,
    # and the cleanup Delete of each replaced grant lets the handler prune what keep_versions=2 no longer covers.
    assert "Update  LayerShareDemo/ShareToolsLayerA6977ED7 (in place)" in output
    assert output.count("(replacement)") == 4 and output.count("(replaced)") == 4
    diff = output.split("Diff:")[1]
    assert diff.count("granted  demo:3") == 2 and diff.count("kept     demo:2") == 2
    assert diff.count("revoked  demo:1") == 2
    assert "kept     tools:1  " in diff and "777788889999" in diff
    assert "Done: 12 CloudFormation events, all SUCCESS" in output
