"""`layer-share standin` serves the faithful stand-in for users: the README's recipe makes drift and `verify` reports
it. The commands run as installed, in processes of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from layer_share_cli.emulator.standin import free_port
from tests.cli.assemblies import with_grant, write_assembly
from tests.standins import publish_layer

LAYER_SHARE = Path(sys.executable).parent / "layer-share"
MOTO_ACCOUNT, REGION = "123456789012", "us-east-1"
KEYS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION}
pytestmark = pytest.mark.slow


@pytest.fixture
def standin_url():
    port = free_port()
    server = subprocess.Popen([str(LAYER_SHARE), "standin", "--port", str(port)], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    assert server.stdout.readline().startswith("Faithful Lambda stand-in on")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


def test_drift_made_on_the_standin_is_reported_by_verify(tmp_path, standin_url):
    lambda_api = boto3.client(
        "lambda",
        endpoint_url=standin_url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    version_arn = publish_layer(lambda_api, "tools")
    lambda_api.add_layer_version_permission(
        LayerName="tools",
        VersionNumber=1,
        StatementId="share",
        Action="lambda:GetLayerVersion",
        Principal="999988887777",  # the app declares 444455556666
    )
    layer_arn = version_arn.rsplit(":", 1)[0]
    assembly = write_assembly(
        tmp_path / "cdk.out", with_grant(LayerName=layer_arn), account=MOTO_ACCOUNT, region=REGION
    )
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}

    run = subprocess.run(
        [str(LAYER_SHARE), "verify", str(assembly), "--endpoint-url", standin_url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, **KEYS, "AWS_CONFIG_FILE": os.devnull},
    )

    assert run.returncode == 1, run.stdout + run.stderr
    [grant] = json.loads(run.stdout)["grants"]
    assert grant["status"] == "changed" and grant["found"]["principal"] == "999988887777"
