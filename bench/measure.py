"""What the benchmarks measure with: medians, ratios, Lambda requests per operation, and sleeps."""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def sleeps_recorded(enabled: bool = True) -> Iterator[list[float]]:
    """Record the duration of every time.sleep in this thread (nothing when not enabled).

    A profile hook sees the call however the caller bound the function: crhelper binds it as a
    default argument, which no monkeypatch would reach. The hook slows all other code, so a
    timed run leaves it off.
    """
    durations: list[float] = []
    if not enabled:
        yield durations
        return
    started: list[float] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if arg is not time.sleep:
            return
        if event == "c_call":
            started.append(time.perf_counter())
        elif event in ("c_return", "c_exception") and started:
            durations.append(time.perf_counter() - started.pop())

    sys.setprofile(profile)
    try:
        yield durations
    finally:
        sys.setprofile(None)
