"""The main job (`make run`): synthesize the example app, lint it, and deploy its grants locally.

1. Start the Lambda stand-in and publish the demo layer (and the other region's layer) in it.
2. `cdk synth` with the pinned CLI, feeding those ARNs as context; every synth runs cdk-nag's AwsSolutions checks.
3. cfn-lint on the synthesized template.
4. Local deploy: Create, Update in place, Update to a new layer version, Delete (tools/local_deploy.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3

from tools.local_deploy import (
    DeployReport,
    LocalDeployFailed,
    next_version,
    run_lifecycle,
    running_standins,
    stack_template,
)
from tools.standins import REGION, ResponseReceiver, publish_layer

REPO = Path(__file__).resolve().parent.parent
ASSEMBLY_DIR = REPO / "cdk.out"
OTHER_REGION = "us-west-2"
# cfn-lint: W3005 flags the DependsOn that CDK itself generates next to an implied dependency.
CFN_LINT_IGNORED = "W3005"


def step(number: int, text: str) -> None:
    print(f"\n[{number}/4] {text}", flush=True)


def synth_environment() -> dict[str, str]:
    """The synth needs no AWS access; leave the stand-in's fake credentials out of it."""
    return {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}


def main() -> int:
    started = time.monotonic()
    try:
        with running_standins() as receiver:
            report = synth_lint_and_deploy(receiver)
    except LocalDeployFailed as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
        return 1
    print(f"\nDone: {report.summary()}, whole job {time.monotonic() - started:.1f} s")
    return 0


def synth_lint_and_deploy(receiver: ResponseReceiver) -> DeployReport:
    step(1, "Start the Lambda stand-in and publish the layers the app shares")
    demo_layer = publish_layer(boto3.client("lambda", region_name=REGION), "demo")
    tools_layer = publish_layer(boto3.client("lambda", region_name=OTHER_REGION), "tools")
    print(f"  demo layer:  {demo_layer}\n  tools layer: {tools_layer}")

    step(2, "cdk synth (pinned CLI) with cdk-nag AwsSolutions checks")
    synth = subprocess.run(
        [
            str(REPO / "node_modules/.bin/cdk"),
            "synth",
            "--quiet",
            "--output",
            str(ASSEMBLY_DIR),
            "-c",
            f"demo_layer_arn={demo_layer}",
            "-c",
            f"tools_layer_arn={tools_layer}",
        ],
        cwd=REPO,
        env=synth_environment(),
    )
    if synth.returncode != 0:
        raise LocalDeployFailed("cdk synth failed (a cdk-nag finding fails the synth too)")
    stack_name, template = stack_template(ASSEMBLY_DIR)
    print(f"  {stack_name}: {len(template['Resources'])} resources, cdk-nag AwsSolutions: no findings")

    step(3, f"cfn-lint (ignoring {CFN_LINT_IGNORED})")
    lint = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--ignore-checks",
            CFN_LINT_IGNORED,
            "--",
            str(ASSEMBLY_DIR / f"{stack_name}.template.json"),
        ],
    )
    if lint.returncode != 0:
        raise LocalDeployFailed("cfn-lint found errors in the synthesized template")
    print("  no findings")

    step(4, "Local deploy: the handler from the synthesized asset, against the stand-in")
    return run_lifecycle(ASSEMBLY_DIR, template, receiver, next_version)


if __name__ == "__main__":
    sys.exit(main())
