"""The main job end to end: real CLI synth with cdk-nag, cfn-lint, and the local deploy of every grant."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_main_job_synthesizes_lints_and_deploys_every_grant_locally(tmp_path):
    environment = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    run = subprocess.run(
        [sys.executable, "-m", "tools.main_job"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=600
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    output = run.stdout
    for lifecycle_step in (
        "1/4 ok: Create 3 grants",
        "2/4 ok: Update",
        "(in place)",
        "3/4 ok: Update to new layer version demo:2 (replacement)",
        "4/4 ok: Delete the stack",
    ):
        assert lifecycle_step in output
    assert "cdk-nag AwsSolutions: no findings" in output
    assert "3 grant resources, 9 CloudFormation events, all SUCCESS" in output
    # retain_on_replace keeps the grants on the replaced version 1; the stack's delete removes the rest.
    final_table = output.split("Layer policies after: Delete the stack")[1]
    assert final_table.count("demo:1") == 2 and "demo:2" not in final_table and "tools:1" not in final_table
