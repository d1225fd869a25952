"""Real parts for the adversarial suite: a fault-injecting proxy, a count of every Lambda call, a timed entry point,
and a log scan around every test.

The root conftest provides the Lambda stand-in and the HTTPS receiver; everything here builds on them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from layer_share_cli.emulator.receiver import ReceivedResponse, ResponseReceiver
from layer_share_cli.emulator.standin import LambdaStandIn
from layer_share_handler import entry
from layer_share_handler.entry import cloudformation_client, handler, lambda_client
from layer_share_handler.lifecycle import Clients
from tests.adversarial import figures
from tests.adversarial.fault_proxy import FaultProxy, redirect_to
from tests.cfn_protocol import LambdaContext
from tests.standins import REGION

# Before test_security.py starts aws_cdk's jsii runtime, as `make` does: Node.js 20's end-of-life banner is noise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# What a leaked ResponseURL looks like: the presigned query, and the path every receiver URL has.
LEAK_MARKERS = ("X-Amz-Signature", "X-Amz-Credential", "X-Amz-Algorithm", "cloudformation-custom-resource-response")


class _LogScan(logging.Handler):
    """Keeps the formatted text (tracebacks included) of every record emitted while a test runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


_log_totals: Counter[str] = Counter()


@pytest.fixture(scope="session", autouse=True)
def _log_scan_totals() -> Iterator[None]:
    yield
    figures.record(
        "security",
        "Log records and output lines scanned across the suite",
        _log_totals["records"] + _log_totals["output lines"],
    )
    figures.record(
        "security", "Of those, containing a ResponseURL or presigned query (X-Amz-Signature)", _log_totals["leaks"]
    )


@pytest.fixture(autouse=True)
def logs_never_reveal_the_response_url(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Every log record and every line printed during a test is checked for a ResponseURL.

    The handler's own loggers run at DEBUG here, stricter than in Lambda, so a URL logged "only at debug" is caught.
    """
    scan = _LogScan()
    root, handler_logger = logging.getLogger(), logging.getLogger("layer_share_handler")
    saved_level = handler_logger.level
    handler_logger.setLevel(logging.DEBUG)
    root.addHandler(scan)
    yield
    root.removeHandler(scan)
    handler_logger.setLevel(saved_level)
    out, err = capfd.readouterr()
    sys.stdout.write(out)  # back into pytest's capture, so a failure still shows it
    sys.stderr.write(err)
    lines = out.splitlines() + err.splitlines()
    leaks = [text for text in scan.texts + lines if any(marker in text for marker in LEAK_MARKERS)]
    _log_totals.update({"records": len(scan.texts), "output lines": len(lines), "leaks": len(leaks)})
    assert not leaks, f"the logs revealed a ResponseURL: {leaks[:3]}"


_CALL_LOG_BEFORE, _CALL_LOG_AFTER = "adversarial-call-log-before", "adversarial-call-log-after"


class CallLog:
    """Every call the handler's Lambda client starts, and every error code Lambda answers with; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def on_before_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.started[model.name] += 1

    def on_after_call(self, parsed: Any, **_: Any) -> None:
        code = parsed.get("Error", {}).get("Code")
        if code:
            with self._lock:
                self.errors[code] += 1

    @property
    def total(self) -> int:
        return sum(self.started.values())

    @property
    def writes(self) -> int:
        return self.started["AddLayerVersionPermission"] + self.started["RemoveLayerVersionPermission"]


@pytest.fixture
def lambda_calls(lambda_standin: LambdaStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[CallLog]:
    """Count the calls of every client the handler asks for, whatever the region: a bad input may name any."""
    log, watched, lock = CallLog(), {}, threading.Lock()

    def watched_client(region: str) -> Any:
        client = lambda_client(region)
        with lock:
            if region not in watched:
                client.meta.events.register("before-call.lambda", log.on_before_call, unique_id=_CALL_LOG_BEFORE)
                client.meta.events.register("after-call.lambda", log.on_after_call, unique_id=_CALL_LOG_AFTER)
                watched[region] = client
        return client

    monkeypatch.setattr(entry, "CLIENTS", Clients(watched_client, cloudformation_client))
    yield log
    for client in watched.values():
        client.meta.events.unregister("before-call.lambda", unique_id=_CALL_LOG_BEFORE)
        client.meta.events.unregister("after-call.lambda", unique_id=_CALL_LOG_AFTER)


@pytest.fixture(scope="session")
def _fault_proxy(lambda_standin: LambdaStandIn) -> Iterator[FaultProxy]:
    proxy = FaultProxy(lambda_standin.endpoint_url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def lambda_faults(_fault_proxy: FaultProxy) -> Iterator[FaultProxy]:
    """Route the handler's Lambda calls through the fault proxy for one test; it forwards unless told otherwise."""
    _fault_proxy.reset()
    events = lambda_client(REGION).meta.events
    events.register("before-send.lambda", redirect_to(_fault_proxy), unique_id="adversarial-fault-proxy")
    yield _fault_proxy
    events.unregister("before-send.lambda", unique_id="adversarial-fault-proxy")
    _fault_proxy.reset()


@dataclass(frozen=True)
class Outcome:
    """What one invocation produced: the PUTs at its ResponseURL, and when, against its Lambda deadline."""

    responses: list[ReceivedResponse]
    seconds: float
    seconds_left: float
    first_response_after: float | None

    @property
    def body(self) -> dict[str, Any]:
        """The one response; fails the test if there were none or several."""
        assert len(self.responses) == 1, f"expected exactly one response, got {[r.body for r in self.responses]}"
        return self.responses[0].body


def response_name(response_url: str) -> str:
    return response_url.split("?")[0].rsplit("/", 1)[-1]


class _FirstResponseClock:
    """Notes when the first new PUT for one ResponseURL arrives, by watching the receiver from a thread."""

    _POLL = 0.005  # seconds

    def __init__(self, receiver: ResponseReceiver, name: str, started: float) -> None:
        self._receiver, self._name, self._started = receiver, name, started
        self._already = len(receiver.responses_for(name))  # a retried event shares its ResponseURL
        self._stop = threading.Event()
        self.arrived_after: float | None = None
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while True:
            stopping = self._stop.is_set()
            if len(self._receiver.responses_for(self._name)) > self._already:
                self.arrived_after = time.monotonic() - self._started
                return
            if stopping:
                return
            self._stop.wait(self._POLL)

    def stop(self) -> float | None:
        self._stop.set()
        self._thread.join()
        return self.arrived_after


@pytest.fixture
def handle(lambda_standin: LambdaStandIn, receiver: ResponseReceiver) -> Callable[..., Outcome]:
    """Run the real entry point on one event with a Lambda context of `timeout_seconds`, timed."""

    def run(event: Any, timeout_seconds: float = 60.0) -> Outcome:
        url = event.get("ResponseURL") if isinstance(event, dict) else None
        name = response_name(url) if isinstance(url, str) else None
        context = LambdaContext(timeout_seconds=timeout_seconds)
        started = time.monotonic()
        clock = _FirstResponseClock(receiver, name, started) if name else None
        try:
            handler(event, context)
        finally:
            first_response_after = clock.stop() if clock else None
        seconds = time.monotonic() - started
        responses = receiver.responses_for(name) if name else []
        return Outcome(responses, seconds, context.get_remaining_time_in_millis() / 1000, first_response_after)

    return run


@pytest.fixture
def response_url(receiver: ResponseReceiver) -> Callable[[], str]:
    """A fresh presigned-looking ResponseURL for each event."""
    return lambda: receiver.url(uuid.uuid4().hex)
