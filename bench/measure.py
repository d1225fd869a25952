"""What the benchmarks measure with: medians, ratios, and Lambda requests per operation."""

from __future__ import annotations

import statistics
import threading
from collections import Counter
from typing import Any


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ratio(value: float, baseline: float) -> float | None:
    """value / baseline, or None when the baseline is zero (a ratio would be meaningless)."""
    return value / baseline if baseline else None


class LambdaRequests:
    """Counts the requests boto3 clients send (the handler's Lambda client, and its CloudFormation client where
    given), by operation and by thread.

    botocore emits before-send once per HTTP attempt, in the calling thread, so its own retries are
    counted too (this is what reaches the service), and events running on parallel threads keep
    separate counts.
    """

    def __init__(self, *clients: Any) -> None:
        self._counts = threading.local()
        for client in clients:
            service = client.meta.service_model.service_name
            client.meta.events.register(f"before-send.{service}", self._record, unique_id=f"bench-count-{id(self)}")

    def _record(self, event_name: str, **_: Any) -> None:
        self._mine()[event_name.rsplit(".", 1)[-1]] += 1

    def _mine(self) -> Counter[str]:
        if not hasattr(self._counts, "value"):
            self._counts.value = Counter()
        return self._counts.value

    def take(self) -> Counter[str]:
        """This thread's counts since its last take."""
        counts = self._mine()
        self._counts.value = Counter()
        return counts
