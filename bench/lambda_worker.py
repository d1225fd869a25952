"""One Lambda execution environment for the bench: a process that imports a handler and answers events.

The bench starts it inside a CPU quota (cpu_quota.py), so everything from interpreter start on runs at
Lambda's CPU share. Events arrive on stdin, one JSON line each ({"event": ..., "timeout": seconds}); for each,
one JSON line of measurements goes to stdout. It imports nothing of the bench's tools (moto would load), and
logs to stderr as Lambda's runtime logs to CloudWatch, since formatting log lines is part of the cost.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
from collections import Counter
from typing import Any

# Each variant's entry module, and where its Lambda client is: a function of the region, or a module attribute.
VARIANTS = {
    "this handler": ("layer_share_handler.entry", "lambda_client"),
    "crhelper defaults": ("bench.crhelper_default_handler", "lambda_api"),
}


class Context:
    """The parts of Lambda's context object the handlers use; remaining time counts down from the event's start."""

    def __init__(self, function_arn: str, timeout: float) -> None:
        self.invoked_function_arn = function_arn
        self.function_name = function_arn.rsplit(":", 1)[-1]
        self.aws_request_id = f"bench-{time.monotonic_ns()}"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self._ends = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def main(variant: str, function_arn: str) -> None:
    handler_logging = logging.StreamHandler(sys.stderr)
    handler_logging.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(message)s"))
    logging.getLogger().addHandler(handler_logging)
    module_name, client_name = VARIANTS[variant]
    module = importlib.import_module(module_name)
    client = getattr(module, client_name)
    if callable(client):
        client = client(os.environ["AWS_REGION"])
    requests: Counter[str] = Counter()
    client.meta.events.register("before-send.lambda", lambda event_name, **_: requests.update([event_name]))
    for line in sys.stdin:
        message: dict[str, Any] = json.loads(line)
        requests.clear()
        cpu, started = time.process_time(), time.monotonic()
        module.handler(message["event"], Context(function_arn, message["timeout"]))
        finished = time.monotonic()
        measured = {
            "seconds": finished - started,
            "finished": finished,
            "cpu_seconds": time.process_time() - cpu,
            "process_cpu_seconds": time.process_time(),  # since the process started
            "requests": {name.rsplit(".", 1)[-1]: count for name, count in requests.items()},
        }
        print(json.dumps(measured), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
