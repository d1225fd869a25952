"""`layer-share try` at 50 grants: time per CloudFormation event, written to bench/TRY_RESULTS.md.

    python -m bench.try_bench [--grants 50] [--out bench]

The app shares 5 layer versions by ARN, 10 accounts each. The previous synth is deployed first (50 Creates);
the change then gives half the grants a new principal (25 Updates in place) and moves the other half to new
layer versions (25 replacements, and their 25 cleanup Deletes). The figure is the whole deploy and change
(layer publishing, policy checks, handler start-up) divided by the events, the median of a few runs, and its
ratio to the target.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from layer_share import LayerVersionPermission
from layer_share_cli.try_command import TryResult, run_try

BENCH_DIR = Path(__file__).resolve().parent
TARGET_SECONDS_PER_EVENT = 0.1
LAYERS = 5
LAYER_ARN = "arn:aws:lambda:us-east-1:111122223333:layer:bench-{layer}:{version}"
REPETITIONS = 3


def synth(outdir: Path, grants: int, changed: bool) -> None:
    """One stack of `grants` grants; `changed` moves principals (even grants) and layer versions (odd ones)."""
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:enable-asset-metadata": True})
    stack = cdk.Stack(app, "TryBench", env=cdk.Environment(account="111122223333", region="us-east-1"))
    for number in range(grants):
        moved = changed and number % 2 == 1
        account = 200000000000 + number + (1000 if changed and number % 2 == 0 else 0)
        LayerVersionPermission(
            stack,
            f"Grant{number}",
            layer_version_arn=LAYER_ARN.format(layer=number % LAYERS, version=2 if moved else 1),
            principal=str(account),
            # The moved grants revoke their old version's statement, so the change has cleanup Deletes too.
            keep_versions=1,
        )
    app.synth()


def measure(grants: int, repetitions: int) -> list[TryResult]:
    with tempfile.TemporaryDirectory() as directory:
        previous, current = Path(directory, "previous"), Path(directory, "current")
        synth(previous, grants, changed=False)
        synth(current, grants, changed=True)
        return [run_try(current, [previous], [], {}, lambda _: None) for _ in range(repetitions)]


def write(out: Path, grants: int, runs: list[TryResult]) -> Path:
    per_event = statistics.median(run.seconds / run.events for run in runs)
    latency = statistics.median(run.event_seconds / run.events for run in runs)
    text = f"""# `layer-share try` at {grants} grants

`python -m bench.try_bench --grants {grants}` on {platform.machine()}, {os.cpu_count()} CPUs, Python
{platform.python_version()}; medians of {len(runs)} runs. Events: {grants} Creates, then {grants // 2} Updates in
place, {grants // 2} replacements and their {grants // 2} cleanup Deletes.

| measure | value |
|---|---|
| events | {runs[0].events} |
| per event: the whole deploy and change (publishing, checks, start-up) / events | {per_event:.3f} s |
| per event: from sending it to reading its response | {latency:.3f} s |
| the whole deploy and change | {statistics.median(run.seconds for run in runs):.1f} s |
| per event against the target of {TARGET_SECONDS_PER_EVENT} s | {per_event / TARGET_SECONDS_PER_EVENT:.2f}× |
"""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "TRY_RESULTS.md"
    path.write_text(text)
    return path


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grants", type=int, default=50)
    parser.add_argument("--repetitions", type=int, default=REPETITIONS)
    parser.add_argument("--out", type=Path, default=BENCH_DIR)
    arguments = parser.parse_args(argv)
    path = write(arguments.out, arguments.grants, measure(arguments.grants, arguments.repetitions))
    print(f"{path}, every figure measured by this run of `python -m bench.try_bench`:\n")
    print(path.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
