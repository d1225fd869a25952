"""The main job (`make run`): synthesize the example app twice, lint it, and try the change with `layer-share try`.

1. `cdk synth` with the pinned CLI (cdk-nag's AwsSolutions checks run in every synth) into cdk.out.previous,
   sharing version 1 of the demo layer.
2. `cdk synth` again into cdk.out: version 2 of the demo layer, and the tools layer shared with another account.
3. cfn-lint on the new template.
4. `layer-share try cdk.out --from cdk.out.previous`, as a user runs it: the previous synth deployed, then the
   change played as CloudFormation would, against the embedded Lambda.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREVIOUS_DIR = REPO / "cdk.out.previous"
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


def run() -> None:
    step(1, "cdk synth (pinned CLI, cdk-nag AwsSolutions checks): the previous version")
    synth(PREVIOUS_DIR, demo_layer_arn=f"{DEMO_LAYER}:1", tools_layer_arn=TOOLS_LAYER)

    step(2, "cdk synth: a new demo layer version, and the tools layer shared with another account")
    synth(
        ASSEMBLY_DIR,
        demo_layer_arn=f"{DEMO_LAYER}:2",
        tools_layer_arn=TOOLS_LAYER,
        tools_partner_account=NEW_TOOLS_PARTNER,
    )

    step(3, f"cfn-lint (ignoring {CFN_LINT_IGNORED})")
    template = ASSEMBLY_DIR / f"{STACK}.template.json"
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    if subprocess.run([str(cfn_lint), "--ignore-checks", CFN_LINT_IGNORED, "--", str(template)]).returncode != 0:
        raise JobFailed("cfn-lint found errors in the synthesized template")
    print("  no findings")

    step(4, f"layer-share try {ASSEMBLY_DIR.name} --from {PREVIOUS_DIR.name}")
    layer_share = Path(sys.executable).parent / "layer-share"
    command = [str(layer_share), "try", str(ASSEMBLY_DIR), "--from", str(PREVIOUS_DIR)]
    if subprocess.run(command, cwd=REPO).returncode != 0:
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
