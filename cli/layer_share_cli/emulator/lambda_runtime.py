"""Run the grant handler from its synthesized asset in a process of its own, as Lambda runs a function.

The process starts once per handler asset, account and region, like a warm Lambda execution environment,
and answers events one at a time. Its environment is what a function there would have (the endpoint of
the embedded Lambda, the role's keys, the region, and the CA that signs the ResponseURL's certificate);
the command's own environment is never changed.

This module is also the process's entry point, so it imports nothing beyond the standard library: the
handler must come from the asset, not from an installed copy.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

# Variables that would point the handler at a real account, or at the user's own configuration.
_SCRUBBED_PREFIXES = ("AWS_",)


class LambdaContext:
    """The parts of Lambda's context object a handler uses; the remaining time counts down for real."""

    def __init__(self, invoked_function_arn: str, timeout_seconds: float = 60.0, memory_limit_in_mb: int = 128):
        self.invoked_function_arn = invoked_function_arn
        self.function_name = invoked_function_arn.rsplit(":", 1)[-1]
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self._ends_at = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends_at - time.monotonic()) * 1000))


class HandlerCrashed(Exception):
    """The handler process raised out of the handler, or died."""


class HandlerProcess:
    """One warm execution environment of the handler. `invoke` returns once the handler has returned."""

    def __init__(self, asset_dir: Path, handler: str, environment: Mapping[str, str]) -> None:
        self.log = tempfile.NamedTemporaryFile("w+", prefix="layer-share-handler-", suffix=".log")  # noqa: SIM115
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-m", __name__, str(asset_dir), handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=handler_environment(environment),
        )

    def invoke(self, event: Mapping[str, Any], function_arn: str, timeout_seconds: float) -> None:
        stdin, stdout = self._pipes()
        request = {"event": event, "function_arn": function_arn, "timeout_seconds": timeout_seconds}
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        except BrokenPipeError:
            pass  # the process died; reading its answer reports it
        line = stdout.readline()
        if not line:
            raise HandlerCrashed(f"the handler process exited with code {self._process.wait()}:\n{self.log_tail()}")
        error = json.loads(line)["error"]
        if error is not None:
            raise HandlerCrashed(f"{error}\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the handler logged, for a report."""
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])

    def close(self) -> None:
        stdin, _ = self._pipes()
        stdin.close()
        self._process.wait(timeout=30)
        self.log.close()

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout


def handler_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """The command's environment without its AWS settings, plus `overrides`; no configuration file is read."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith(_SCRUBBED_PREFIXES)}
    return {**kept, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **overrides}


def _serve(asset_dir: str, handler_setting: str) -> None:
    """Import the handler from the asset, as Lambda does, then answer one JSON line per event."""
    answers = sys.stdout
    sys.stdout = sys.stderr  # what the handler prints is log output, as on Lambda
    module_name, function_name = handler_setting.rsplit(".", 1)
    sys.path.insert(0, asset_dir)
    try:
        module = importlib.import_module(module_name)
        if not Path(str(module.__file__)).resolve().is_relative_to(Path(asset_dir).resolve()):
            raise ImportError(f"{module_name} was imported from {module.__file__}, not from the asset {asset_dir}")
        handler = getattr(module, function_name)
    except Exception as error:  # reported for every event, so the command can say why nothing ran
        handler, import_error = None, f"cannot import {handler_setting} from {asset_dir}: {error!r}"
    for line in sys.stdin:
        request = json.loads(line)
        failure = None if handler is not None else import_error
        if handler is not None:
            try:
                handler(request["event"], LambdaContext(request["function_arn"], request["timeout_seconds"]))
            except Exception as raised:  # Lambda reports an unhandled error the same way: no response sent
                failure = f"the handler raised {raised!r}"
        answers.write(json.dumps({"error": failure}) + "\n")
        answers.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
