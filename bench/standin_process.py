"""Run the Lambda stand-in in a child process, so its request handling never competes for the GIL
with the handler being timed in the benchmark process.

The child prints the stand-in's environment as one JSON line, then serves until its stdin closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tools.standins import LambdaStandIn


@contextmanager
def lambda_standin_process() -> Iterator[dict[str, str]]:
    """Start the stand-in in a child process and yield the environment that points boto3 at it."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.standin_process"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"The Lambda stand-in process exited with code {child.wait()} before it was ready")
        yield json.loads(line)
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def _serve() -> None:
    standin = LambdaStandIn().start()
    print(json.dumps(standin.environment()), flush=True)
    sys.stdin.read()
    standin.stop()


if __name__ == "__main__":
    _serve()
