"""Run every benchmark in one process; write the figures to results.json, then the tables of RESULTS.md.

make bench                                   # the full run, about ten minutes
python -m bench.run --quick --out /tmp/b     # a tiny run that checks the machinery
python -m bench.run --event-gap 0            # handler events back to back, as CloudFormation never sends them
python -m bench.report bench/results.json    # the tables again, from the data file, without measuring
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import contention_bench, handler_bench, retention_bench, synth_bench
from bench.lambda_layers import plain_client
from bench.report import machine, where_from, write_results
from bench.standin_process import environment, lambda_standin_process
from layer_share_cli.emulator.receiver import ResponseReceiver

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does: the full run, or the quick one that only proves the machinery works."""

    grant_counts: tuple[int, ...]
    synth_repetitions: int
    memory_sizes: tuple[int, ...]  # MB; the first is the construct's
    cold_starts: int  # per memory size and handler
    warm_lifecycles: int  # per cold start
    contention_grants: int
    versions_kept: tuple[int | None, ...]  # keep_versions of the retention runs; None keeps every version


FULL = Sizes((1, 10, 50, 200), 7, (128, 256, 512, 1024), 5, 3, 25, (None, 1, 3, 10))
QUICK = Sizes((1, 2), 1, (1024,), 1, 1, 3, (None, 2))


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the machinery")
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="where results.json, RESULTS.md and the plot go")
    parser.add_argument(
        "--event-gap",
        type=float,
        default=handler_bench.EVENT_GAP_SECONDS,
        metavar="SECONDS",
        help="time between a handler's answer and its next event (default: %(default)s; bench/handler_bench.py)",
    )
    arguments = parser.parse_args(argv)
    sizes = QUICK if arguments.quick else FULL
    started = time.perf_counter()

    with lambda_standin_process() as standin:
        os.environ.update(environment(standin))
        receiver = ResponseReceiver().start()
        # The in-process contention run verifies the ResponseURL's certificate, as the handler must.
        os.environ["SSL_CERT_FILE"] = receiver.ca_file
        try:
            api = plain_client()
            handler = handler_bench.run(
                sizes.memory_sizes,
                sizes.cold_starts,
                sizes.warm_lifecycles,
                receiver,
                api,
                progress,
                arguments.event_gap,
            )
            progress(f"contention: {sizes.contention_grants} grants at once")
            contention = contention_bench.run(receiver, api, sizes.contention_grants)
            progress(f"retention: keep_versions {', '.join(map(str, sizes.versions_kept))}")
            retention = retention_bench.run(receiver, api, standin, sizes.versions_kept)
        finally:
            receiver.stop()
    synth = synth_bench.run(sizes.grant_counts, sizes.synth_repetitions, progress)

    data = {
        "command": " ".join(["python -m bench.run", *argv]),
        "quick": arguments.quick,
        "minutes": (time.perf_counter() - started) / 60,
        "machine": machine(),
        "sizes": dataclasses.asdict(sizes),
        "handler": handler.as_data(),
        "contention": contention,
        "retention": retention,
        "synth": dataclasses.asdict(synth),
    }
    arguments.out.mkdir(parents=True, exist_ok=True)
    data_file = arguments.out / "results.json"
    data_file.write_text(json.dumps(data, indent=1) + "\n")
    write_results(data_file, arguments.out)
    progress(f"wrote {data_file}, {arguments.out / 'RESULTS.md'} and {arguments.out / 'results.png'}")
    print(where_from(data_file, arguments.out))


if __name__ == "__main__":
    main(sys.argv[1:])
