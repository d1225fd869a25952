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
    """Counts the requests a boto3 Lambda client sends, by operation and by thread.

    botocore emits before-send once per HTTP attempt, in the calling thread, so its own retries are
    counted too (this is what reaches Lambda), and events running on parallel threads keep
    separate counts.
    """

    def __init__(self, client: Any) -> None:
        self._counts = threading.local()
        client.meta.events.register("before-send.lambda", self._record, unique_id=f"bench-count-{id(self)}")

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
