"""Many grants on one layer version at once: created in parallel, then deleted in parallel.

Each event runs on its own thread through the real entry point, as concurrent Lambda invocations
would; all of them start together at a barrier. Requests beyond one per Create and two per Delete
are retries.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.handler_bench import EventSample, Variant, send
from bench.lambda_layers import grant_properties, new_layer_version
from layer_share_cli.receiver import ResponseReceiver
from tests.standins import account_statement, policy_statements

# The fewest requests each event can make: Create adds; Delete reads the policy, then removes.
MINIMUM_REQUESTS = {"Create": 1, "Delete": 2}


@dataclass(frozen=True)
class Phase:
    request_type: str
    wall_time: float
    requests: Counter[str]
    statuses: Counter[str]
    policy_statements: int
    policy_exact: bool
    slowest_event: float

    @property
    def retries(self) -> int:
        return sum(self.requests.values()) - MINIMUM_REQUESTS[self.request_type] * sum(self.statuses.values())


def run(variant: Variant, receiver: ResponseReceiver, api: Any, grants: int) -> list[Phase]:
    layer_version_arn = new_layer_version(api)
    accounts = [f"{300000000000 + number}" for number in range(grants)]
    properties = [grant_properties(layer_version_arn, f"share-{account}", account) for account in accounts]
    expected = {
        f"share-{account}": account_statement(layer_version_arn, f"share-{account}", account) for account in accounts
    }

    def create(number: int) -> EventSample:
        return send(variant, receiver, False, "Create", properties[number])

    created_phase, created = _in_parallel(variant, "Create", create, grants)
    after_create = policy_statements(api, layer_version_arn)
    created_phase = _with_policy(created_phase, after_create, after_create == expected)

    def delete(number: int) -> EventSample:
        return send(variant, receiver, False, "Delete", properties[number], physical_id=created[number].physical_id)

    deleted_phase, _ = _in_parallel(variant, "Delete", delete, grants)
    after_delete = policy_statements(api, layer_version_arn)
    return [created_phase, _with_policy(deleted_phase, after_delete, after_delete == {})]


def _in_parallel(
    variant: Variant, request_type: str, event: Callable[[int], EventSample], count: int
) -> tuple[Phase, list[EventSample]]:
    """Run `count` events at once, each on its own thread."""
    start = threading.Barrier(count)

    def at_once(number: int) -> EventSample:
        start.wait()
        return event(number)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        samples = list(pool.map(at_once, range(count)))
    wall_time = time.perf_counter() - started
    phase = Phase(
        request_type,
        wall_time,
        sum((sample.requests for sample in samples), Counter()),
        Counter(sample.status for sample in samples),
        0,
        False,
        max(sample.latency for sample in samples),
    )
    return phase, samples


def _with_policy(phase: Phase, statements: dict[str, dict], exact: bool) -> Phase:
    return Phase(
        phase.request_type, phase.wall_time, phase.requests, phase.statuses, len(statements), exact, phase.slowest_event
    )
