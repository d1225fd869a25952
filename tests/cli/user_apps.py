"""A user-shaped CDK app, written into a temporary directory and synthesized with the pinned CDK CLI.

One stack publishes a layer (`aws_lambda.LayerVersion`, kept on delete) and shares it with an account, keeping
its two newest versions shared; a second stack of the same environment shares the same layer with another
account through a cross-stack reference. `synth(directory, content)` changes the layer's content between synths.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYER_SHARE = Path(sys.executable).parent / "layer-share"
ACCOUNT, REGION = "111122223333", "eu-west-1"
PARTNER, CONSUMER = "444455556666", "777788889999"

APP = f'''
from aws_cdk import App, Environment, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from layer_share import LayerVersionPermission, LayerVersionSharing

app = App()
env = Environment(account="{ACCOUNT}", region="{REGION}")
layers = Stack(app, "Layers", env=env)
tools = lambda_.LayerVersion(
    layers, "Tools", code=lambda_.Code.from_asset("layer"), removal_policy=RemovalPolicy.RETAIN
)
LayerVersionSharing(layers, "ShareTools", layer_version=tools, accounts=["{PARTNER}"], keep_versions=2)
consumers = Stack(app, "Consumers", env=env)
LayerVersionPermission(consumers, "ToolsToConsumer", layer_version=tools, principal="{CONSUMER}")
app.synth()
'''


def synth(app_dir: Path, outdir: Path, content: str) -> Path:
    """Write the app with the layer's `content`, and synthesize it into `outdir` with the CDK CLI."""
    (app_dir / "layer" / "python").mkdir(parents=True, exist_ok=True)
    (app_dir / "layer" / "python" / "tools.py").write_text(f"VERSION = {content!r}\n")
    (app_dir / "app.py").write_text(APP)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    command = [str(REPO / "node_modules/.bin/cdk"), "synth", "--quiet", "--app", f"{sys.executable} app.py"]
    subprocess.run(
        [*command, "--output", str(outdir)], cwd=app_dir, env=environment, check=True, timeout=300, capture_output=True
    )
    return outdir


def layer_share(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The installed command, in a process of its own, as a user runs it."""
    return subprocess.run([str(LAYER_SHARE), *arguments], capture_output=True, text=True, timeout=timeout)
