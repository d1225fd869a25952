"""What the handler's Lambda client puts on the wire, counted per operation, for the call-count tests."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from layer_share_cli.standin import LambdaStandIn
from layer_share_handler.entry import lambda_client
from tests.standins import REGION


class WireCount:
    """Requests sent by the handler's client, by operation: botocore's before-send fires once per HTTP request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()

    def on_send(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.requests[event_name.rsplit(".", 1)[-1]] += 1

    def take(self) -> Counter[str]:
        """The requests since the last take."""
        with self._lock:
            taken, self.requests = self.requests, Counter()
        return taken


@pytest.fixture
def wire(lambda_standin: LambdaStandIn) -> Iterator[WireCount]:
    count = WireCount()
    events = lambda_client(REGION).meta.events
    events.register("before-send.lambda", count.on_send, unique_id="tests-wire-count")
    yield count
    events.unregister("before-send.lambda", unique_id="tests-wire-count")
