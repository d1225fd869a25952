"""How long each part of one event may take, derived from Lambda's remaining time whenever it is needed.

An event ends with one response that must reach CloudFormation before Lambda stops the function, and
crhelper's timer answers FAILED 0.5 s before that. So the response's delivery bound and that margin are set
aside first, and every Lambda API call gets what is left: a call starts only while it can still finish, and
its read timeout shrinks to fit. This works for any function timeout from a few seconds to 900 s.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from .exceptions import OutOfTime

# crhelper's timer fires this long before Lambda's timeout and answers FAILED.
TIMER_MARGIN = 0.5  # seconds
# Response delivery gets this share of the event's time, up to its own worst case (response.py).
DELIVERY_SHARE = 0.3
# Lambda's control plane connects in milliseconds and answers in well under a second: these bound the slow tail.
CONNECT_TIMEOUT = 1.0  # seconds; a client setting (botocore takes only the read timeout per call)
MAX_READ_TIMEOUT = 8.0  # seconds
MIN_READ_TIMEOUT = 0.5  # seconds; less than this and a healthy call could not finish
MIN_CALL = CONNECT_TIMEOUT + MIN_READ_TIMEOUT
_FIRST_BACKOFF = 0.1  # seconds
_MAX_BACKOFF = 2.0  # seconds

# The read timeout of the call that Budget.start_call last allowed in this thread; see apply_read_timeout.
_read_timeout: ContextVar[float | None] = ContextVar("layer_share_read_timeout", default=None)


def delivery_bound(remaining: float, worst_case: float) -> float:
    """The time kept for delivering the response, from the time the event had when it began."""
    return min(worst_case, DELIVERY_SHARE * remaining)


class Budget:
    """The time one event has for Lambda API calls and the waits between them.

    `remaining` is Lambda's remaining time in seconds, read again at every decision; `delivery` is the time kept
    back for the response.
    """

    def __init__(
        self,
        remaining: Callable[[], float],
        delivery: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._remaining = remaining
        self._delivery = delivery
        self._sleep = sleep

    def left(self) -> float:
        """Seconds until the last call must have finished."""
        return self._remaining() - TIMER_MARGIN - self._delivery

    def start_call(self) -> float:
        """Allow one API call and return its read timeout, or raise OutOfTime when it could not finish in time."""
        left = self.left()
        if left < MIN_CALL:
            raise OutOfTime()
        read_timeout = min(MAX_READ_TIMEOUT, left - CONNECT_TIMEOUT)
        _read_timeout.set(read_timeout)
        return read_timeout

    def wait_before_retry(self, attempt: int, retry_after: float | None = None) -> bool:
        """Sleep before attempt `attempt + 1`: full jitter, and at least what Lambda asked for in Retry-After.

        False, without sleeping, when the next attempt could not start in time after the wait.
        """
        delay = random.uniform(0, min(_MAX_BACKOFF, _FIRST_BACKOFF * 2**attempt))
        if retry_after is not None:
            delay = max(delay, retry_after)
        if self.left() - delay < MIN_CALL:
            return False
        self._sleep(delay)
        return True


def apply_read_timeout(context: dict[str, Any], **_: Any) -> None:
    """botocore `before-call` hook: give the call the read timeout its budget allowed (botocore's per-request
    `read_timeout`); the client's own read timeout applies to calls made outside a budget."""
    read_timeout = _read_timeout.get()
    if read_timeout is not None:
        context["read_timeout"] = read_timeout
        _read_timeout.set(None)  # one allowance, one call
