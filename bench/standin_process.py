"""The Lambda stand-in for the benchmarks. It serves from a child process of its own (layer_share_cli.emulator.standin),
so its request handling never competes for the GIL with the handler being timed in the benchmark process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from layer_share_cli.emulator.standin import LambdaStandIn
from tests.standins import ACCOUNT, REGION


@contextmanager
def lambda_standin_process() -> Iterator[LambdaStandIn]:
    """Start the stand-in; `environment(standin)` points boto3 at it, in the test account."""
    standin = LambdaStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()


def environment(standin: LambdaStandIn) -> dict[str, str]:
    return standin.handler_environment(ACCOUNT, REGION)
