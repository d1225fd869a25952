"""The main job (`make run`): synthesize three versions of the example app, lint the last, and try the history
with `layer-share try`.

1. `cdk synth` with the pinned CLI (cdk-nag's AwsSolutions checks run in every synth) into cdk.out.v1 and
   cdk.out.v2: versions 1 and 2 of the demo layer, and in v2 the tools layer shared with another account.
2. `cdk synth` into cdk.out: version 3 of the demo layer, and the pointer that tells consumers so (an SSM parameter
   shared through RAM, which `try` does not play).
3. cfn-lint on the last template.
4. `layer-share try cdk.out --from cdk.out.v1 --from cdk.out.v2`, as a user runs it: the first synth deployed,
   then each next one played as CloudFormation would, against the embedded Lambda. The demo layer keeps its two
   newest versions shared (keep_versions=2), so the last change revokes version 1's grants.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HISTORY_DIRS = (REPO / "cdk.out.v1", REPO / "cdk.out.v2")
ASSEMBLY_DIR = REPO / "cdk.out"
LAYER_ACCOUNT = "111122223333"
DEMO_LAYER = f"arn:aws:lambda:us-east-1:{LAYER_ACCOUNT}:layer:demo"
TOOLS_LAYER = f"arn:aws:lambda:us-west-2:{LAYER_ACCOUNT}:layer:tools:1"
NEW_TOOLS_PARTNER = "777788889999"
# cfn-lint: W3005 flags the DependsOn that CDK itself generates next to an implied dependency.
CFN_LINT_IGNORED = "W3005"
STACK = "LayerShareDemo"


class JobFailed(Exception):
    pass


def step(number: int, text: str) -> None:
    print(f"\n[{number}/4] {text}", flush=True)


def synth(outdir: Path, **context: str) -> None:
    """The pinned CLI's synth; it needs no AWS access, so no AWS settings reach it."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    arguments = [str(REPO / "node_modules/.bin/cdk"), "synth", "--quiet", "--output", str(outdir)]
    for name, value in context.items():
        arguments += ["-c", f"{name}={value}"]
    if subprocess.run(arguments, cwd=REPO, env=environment).returncode != 0:
        raise JobFailed("cdk synth failed (a cdk-nag finding fails the synth too)")
    print(f"  {outdir.name}: {', '.join(f'{name}={value}' for name, value in context.items())}")


def show_pointers(template: dict[str, Any]) -> None:
    """Each pointer: its name, the ARN it holds, the grants it waits for, and whom RAM shares it with."""
    resources = template["Resources"]
    for logical_id, body in resources.items():
        if body["Type"] != "AWS::SSM::Parameter":
            continue
        properties = body["Properties"]
        # The pointer's share depends on its parameter, which it names by an ARN.
        (principals,) = [
            share["Properties"]["Principals"]
            for share in resources.values()
            if share["Type"] == "AWS::RAM::ResourceShare" and logical_id in share.get("DependsOn", [])
        ]
        print(f"  pointer {properties['Name']} ({properties['Tier']} SSM parameter) = {properties['Value']}")
        print(f"    written after the grants {', '.join(body['DependsOn'])}")
        print(f"    shared through RAM with {', '.join(principals)}")


def run() -> None:
    step(1, "cdk synth (pinned CLI, cdk-nag AwsSolutions checks): the history, demo layer versions 1 and 2")
    synth(HISTORY_DIRS[0], demo_layer_arn=f"{DEMO_LAYER}:1", tools_layer_arn=TOOLS_LAYER)
    synth(
        HISTORY_DIRS[1],
        demo_layer_arn=f"{DEMO_LAYER}:2",
        tools_layer_arn=TOOLS_LAYER,
        tools_partner_account=NEW_TOOLS_PARTNER,
    )

    step(2, "cdk synth: version 3 of the demo layer, and its pointer")
    synth(
        ASSEMBLY_DIR,
        demo_layer_arn=f"{DEMO_LAYER}:3",
        tools_layer_arn=TOOLS_LAYER,
        tools_partner_account=NEW_TOOLS_PARTNER,
    )
    template = json.loads((ASSEMBLY_DIR / f"{STACK}.template.json").read_text())
    show_pointers(template)

    step(3, f"cfn-lint (ignoring {CFN_LINT_IGNORED})")
    template = ASSEMBLY_DIR / f"{STACK}.template.json"
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    if subprocess.run([str(cfn_lint), "--ignore-checks", CFN_LINT_IGNORED, "--", str(template)]).returncode != 0:
        raise JobFailed("cfn-lint found errors in the synthesized template")
    print("  no findings")

    history = [argument for directory in HISTORY_DIRS for argument in ("--from", directory.name)]
    step(4, f"layer-share try {ASSEMBLY_DIR.name} {' '.join(history)}")
    layer_share = Path(sys.executable).parent / "layer-share"
    if subprocess.run([str(layer_share), "try", ASSEMBLY_DIR.name, *history], cwd=REPO).returncode != 0:
        raise JobFailed("layer-share try failed")


def main() -> int:
    started = time.monotonic()
    try:
        run()
    except JobFailed as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
        return 1
    print(f"\nMain job done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
