"""Run every benchmark in one process and write RESULTS.md and results.png.

make bench                                   # the full run, about four minutes
python -m bench.run --quick --out /tmp/b     # a tiny run that checks the machinery, in seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import contention_bench, handler_bench, synth_bench
from bench.lambda_layers import plain_client
from bench.report import Run, machine, plot, write_results
from bench.standin_process import lambda_standin_process
from layer_share_cli.receiver import ResponseReceiver

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does: the full run, or the quick one that only proves the machinery works."""

    grant_counts: tuple[int, ...]
    synth_repetitions: int
    cold_starts: int
    event_repetitions: int
    contention_grants: int
    stack_delete: bool  # the baseline's Delete really sleeps, about two minutes


FULL = Sizes((1, 10, 50, 200), 7, 10, 30, 25, True)
QUICK = Sizes((1, 2), 1, 1, 1, 3, False)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, no two-minute wait: checks the machinery")
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="where RESULTS.md and results.png go")
    arguments = parser.parse_args(argv)
    sizes = QUICK if arguments.quick else FULL
    started = time.perf_counter()

    with lambda_standin_process() as environment:
        os.environ.update(environment)
        receiver = ResponseReceiver().start()
        # The handlers verify the ResponseURL's certificate, as they must against CloudFormation.
        os.environ["SSL_CERT_FILE"] = receiver.ca_file
        try:
            api = plain_client()
            ours, baseline = handler_bench.variants()
            handler = handler_bench.run(
                [ours, baseline],
                receiver,
                api,
                sizes.event_repetitions,
                sizes.cold_starts,
                sizes.stack_delete,
                progress,
            )
            progress(f"contention: {sizes.contention_grants} grants at once")
            contention = contention_bench.run(ours, receiver, api, sizes.contention_grants)
        finally:
            receiver.stop()
    synth = synth_bench.run(sizes.grant_counts, sizes.synth_repetitions, progress)

    command = " ".join(["python -m bench.run", *argv])
    run = Run(command, machine(), sizes.__dict__, time.perf_counter() - started, synth, handler, contention)
    arguments.out.mkdir(parents=True, exist_ok=True)
    write_results(arguments.out / "RESULTS.md", run)
    plot(arguments.out / "results.png", synth)
    progress(f"wrote {arguments.out / 'RESULTS.md'} and {arguments.out / 'results.png'}")


if __name__ == "__main__":
    main(sys.argv[1:])
