"""`layer-share try` on an app whose grants publish a pointer: it plays the grants and leaves the SSM parameter and
the RAM share alone, as resources it does not play."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from layer_share import LayerVersionPermission, LayerVersionSharing, PointerOptions
from layer_share.pointer import ORGANIZATION_SHARING_WARNING

LAYER_SHARE = Path(sys.executable).parent / "layer-share"
ACCOUNT, REGION = "111122223333", "eu-west-1"
ORGANIZATION = "o-a1b2c3d4e5"
pytestmark = pytest.mark.slow  # starts an embedded Lambda


def synth(outdir: Path, version: int) -> Path:
    """A producer's app with two pointers, at `version` of the tools layer; the asset paths recorded, as the CLI's
    synth records them."""
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:enable-asset-metadata": True})
    stack = cdk.Stack(app, "Layers", env=cdk.Environment(account=ACCOUNT, region=REGION))
    sharing = LayerVersionSharing(
        stack,
        "Tools",
        layer_version_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:tools:{version}",
        accounts=["444455556666"],
        organization_ids=[ORGANIZATION],
        keep_versions=1,
        publish_pointer=PointerOptions(
            organization_arns=[f"arn:aws:organizations::{ACCOUNT}:organization/{ORGANIZATION}"]
        ),
    )
    cdk.Annotations.of(sharing).acknowledge_warning(ORGANIZATION_SHARING_WARNING, "sharing is enabled")
    consumer = cdk.CfnParameter(stack, "Consumer", type="String")
    LayerVersionPermission(
        stack,
        "Runtime",
        layer_version_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:runtime:{version}",
        principal=consumer.value_as_string,
        publish_pointer=PointerOptions(),
    )
    app.synth()
    return outdir


def test_try_plays_the_grants_of_an_app_with_pointers_and_ignores_the_parameter_and_share(tmp_path: Path) -> None:
    previous, current = synth(tmp_path / "v1", 1), synth(tmp_path / "v2", 2)
    template = json.loads((current / "Layers.template.json").read_text())
    types = sorted(body["Type"] for body in template["Resources"].values())
    assert types.count("AWS::SSM::Parameter") == 2 and types.count("AWS::RAM::ResourceShare") == 2

    run = subprocess.run(
        [str(LAYER_SHARE), "try", str(current), "--from", str(previous), "--parameters", "Consumer=555566667777"],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "SSM" not in run.stdout and "RAM" not in run.stdout
    diff = {(row[0], row[1], row[4], row[5]) for row in (line.split() for line in diff_lines(run.stdout))}
    assert {
        ("granted", "tools:2", "444455556666", "-"),
        ("granted", "tools:2", "*", ORGANIZATION),
        ("granted", "runtime:2", "555566667777", "-"),
        ("revoked", "tools:1", "444455556666", "-"),
    } <= diff


def diff_lines(output: str) -> list[str]:
    table = output.split("\nDiff:\n")[1].split("\n\n")[0]
    return table.splitlines()[1:]
