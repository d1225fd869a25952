"""Many grants on one layer version at once: created in parallel, then deleted in parallel.

Each event runs on its own thread through this handler's real entry point, in this process, as concurrent
Lambda invocations would; all of them start together at a barrier. Requests beyond one per event are retries.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from bench.lambda_layers import grant_properties, new_layer_version
from bench.measure import LambdaRequests
from layer_share_cli.emulator.receiver import ResponseReceiver
from tests.cfn_protocol import LambdaContext, cfn_event
from tests.standins import REGION, account_statement, policy_statements

# The fewest requests each event can make: a Create adds, a Delete removes.
MINIMUM_REQUESTS = {"Create": 1, "Delete": 1}


@dataclass(frozen=True)
class Phase:
    request_type: str
    events: int
    wall_time: float
    slowest_event: float
    requests: dict[str, int]
    statuses: dict[str, int]
    policy_statements: int
    policy_exact: bool

    @property
    def retries(self) -> int:
        return sum(self.requests.values()) - MINIMUM_REQUESTS[self.request_type] * self.events


def run(receiver: ResponseReceiver, api: Any, grants: int) -> list[dict[str, Any]]:
    from layer_share_handler import entry

    requests = LambdaRequests(entry.lambda_client(REGION))
    layer_version_arn = new_layer_version(api)
    accounts = [f"{300000000000 + number}" for number in range(grants)]
    properties = [grant_properties(layer_version_arn, f"share-{account}", account) for account in accounts]
    expected = {
        f"share-{account}": account_statement(layer_version_arn, f"share-{account}", account) for account in accounts
    }

    def event(request_type: str, number: int, **fields: Any) -> dict[str, Any]:
        """Answer one event on this thread; its response body, and the requests it made."""
        name = uuid.uuid4().hex
        requests.take()
        entry.handler(
            cfn_event(request_type, f"Share{number}", properties[number], receiver.url(name), **fields),
            LambdaContext(timeout_seconds=60),
        )
        responses = receiver.responses_for(name)
        body = responses[0].body if len(responses) == 1 else {"Status": f"{len(responses)} responses"}
        return {**body, "requests": requests.take()}

    created, phase = _in_parallel("Create", lambda number: event("Create", number), grants)
    after = policy_statements(api, layer_version_arn)
    created_phase = Phase(**{**phase, "policy_statements": len(after), "policy_exact": after == expected})

    def delete(number: int) -> dict[str, Any]:
        return event("Delete", number, physical_id=created[number].get("PhysicalResourceId", ""))

    _, phase = _in_parallel("Delete", delete, grants)
    after = policy_statements(api, layer_version_arn)
    deleted_phase = Phase(**{**phase, "policy_statements": len(after), "policy_exact": after == {}})
    return [{**asdict(phase), "retries": phase.retries} for phase in (created_phase, deleted_phase)]


def _in_parallel(
    request_type: str, event: Callable[[int], dict[str, Any]], count: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run `count` events at once, each on its own thread, timing each."""
    start = threading.Barrier(count)

    def at_once(number: int) -> tuple[float, dict[str, Any]]:
        start.wait()
        began = time.perf_counter()
        answer = event(number)
        return time.perf_counter() - began, answer

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        timed = list(pool.map(at_once, range(count)))
    wall_time = time.perf_counter() - started
    answers = [answer for _, answer in timed]
    phase = {
        "request_type": request_type,
        "events": count,
        "wall_time": wall_time,
        "slowest_event": max(seconds for seconds, _ in timed),
        "requests": dict(sum((answer["requests"] for answer in answers), Counter())),
        "statuses": dict(Counter(answer["Status"] for answer in answers)),
    }
    return answers, phase
