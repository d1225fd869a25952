"""The time budget of one event: every call sized to what is left after the response's delivery and crhelper's
timer margin, whatever the function's timeout."""

from __future__ import annotations

import pytest

from layer_share_handler.budget import (
    CONNECT_TIMEOUT,
    MAX_READ_TIMEOUT,
    MIN_CALL,
    TIMER_MARGIN,
    Budget,
    apply_read_timeout,
    delivery_bound,
)
from layer_share_handler.exceptions import OutOfTime
from layer_share_handler.response import DELIVERY_WORST_CASE


def budget(remaining: float, delivery: float) -> Budget:
    return Budget(lambda: remaining, delivery, sleep=lambda _: None)


@pytest.mark.parametrize(
    ("timeout", "delivery"), [(10, 3.0), (15, 4.5), (30, 9.0), (60, DELIVERY_WORST_CASE), (900, DELIVERY_WORST_CASE)]
)
def test_delivery_keeps_a_share_of_short_timeouts_and_its_worst_case_of_long_ones(timeout, delivery):
    assert delivery_bound(timeout, DELIVERY_WORST_CASE) == pytest.approx(delivery)


@pytest.mark.parametrize("timeout", [10, 15, 30, 60, 300, 900])
def test_every_function_timeout_leaves_room_for_calls_after_the_delivery_and_the_timer_margin(timeout):
    delivery = delivery_bound(timeout, DELIVERY_WORST_CASE)
    left = budget(timeout, delivery).left()

    assert left == pytest.approx(timeout - TIMER_MARGIN - delivery)
    assert left >= 4 * MIN_CALL  # a read, two writes and a retry fit even at 10 s


def test_a_read_timeout_shrinks_to_fit_what_is_left():
    assert budget(60, 13.5).start_call() == MAX_READ_TIMEOUT
    assert budget(6.0, 3.0).start_call() == pytest.approx(6.0 - TIMER_MARGIN - 3.0 - CONNECT_TIMEOUT)


def test_no_call_starts_when_it_could_not_finish_before_the_response_must_go():
    with pytest.raises(OutOfTime):
        budget(3.0 + TIMER_MARGIN + MIN_CALL - 0.01, 3.0).start_call()


def test_a_retry_waits_for_retry_after_only_if_a_call_can_follow():
    slept: list[float] = []
    roomy = Budget(lambda: 20.0, 3.0, sleep=slept.append)

    assert roomy.wait_before_retry(1, retry_after=2.0) is True
    assert slept == [2.0]
    assert budget(6.0, 3.0).wait_before_retry(1, retry_after=2.0) is False


def test_the_allowed_read_timeout_goes_to_the_next_call_only():
    allowed = budget(8.0, 3.0).start_call()
    first: dict[str, float] = {}
    second: dict[str, float] = {}

    apply_read_timeout(first)
    apply_read_timeout(second)

    assert first == {"read_timeout": allowed}
    assert second == {}
