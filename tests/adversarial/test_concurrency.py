"""Many custom resources on the same layer versions at once: real threads, one shared client, moto over HTTP.

CloudFormation creates and deletes independent resources in parallel, and each event is its own Lambda
invocation; here each invocation is a thread, all released together by a barrier.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.adversarial import figures
from tests.adversarial.conftest import CallLog, Outcome
from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import account_statement, grant_properties
from tests.standins import publish_layer

PARALLEL = 25


def account(n: int) -> str:
    return f"{200000000000 + n}"


def create_events(layer_version_arn: str, prefix: str, response_url: Callable[[], str]) -> list[dict[str, Any]]:
    return [
        cfn_event(
            "Create",
            f"Share{prefix}{n}",
            grant_properties(layer_version_arn, f"{prefix}-{n}", Principal=account(n)),
            response_url(),
        )
        for n in range(PARALLEL)
    ]


def delete_events(
    layer_version_arn: str, prefix: str, physical_ids: list[str], response_url: Callable[[], str]
) -> list[dict[str, Any]]:
    return [
        cfn_event(
            "Delete",
            f"Share{prefix}{n}",
            grant_properties(layer_version_arn, f"{prefix}-{n}", Principal=account(n)),
            response_url(),
            physical_id=physical_id,
        )
        for n, physical_id in enumerate(physical_ids)
    ]


def granted(layer_version_arn: str, prefix: str) -> dict[str, dict]:
    return {f"{prefix}-{n}": account_statement(layer_version_arn, f"{prefix}-{n}", account(n)) for n in range(PARALLEL)}


def all_at_once(handle: Callable[..., Outcome], events: list[dict[str, Any]]) -> tuple[list[Outcome], float]:
    """Invoke the handler once per event, each in its own thread, all starting together; and the wall time."""
    barrier = threading.Barrier(len(events))

    def invoke(event: dict[str, Any]) -> Outcome:
        barrier.wait()
        return handle(event)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        outcomes = list(pool.map(invoke, events))
    return outcomes, time.monotonic() - started


def policy(lambda_api: Any, layer_version_arn: str) -> tuple[dict[str, dict], int]:
    """The statements by Sid, checking that no Sid appears twice, and the policy document's size in bytes."""
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    try:
        document = lambda_api.get_layer_version_policy(LayerName=layer_arn, VersionNumber=int(version))["Policy"]
    except lambda_api.exceptions.ResourceNotFoundException:
        return {}, 0
    statements = json.loads(document)["Statement"]
    by_sid = {statement["Sid"]: statement for statement in statements}
    assert len(by_sid) == len(statements), f"duplicate statement IDs in {document}"
    return by_sid, len(document.encode())


def calls_per_event(caplog: pytest.LogCaptureFixture, request_type: str) -> list[int]:
    """The Lambda calls of each event of this type, from the audit record every event writes."""
    audits = [json.loads(record.getMessage()) for record in caplog.records if record.name.endswith(".audit")]
    return [len(audit["LambdaCalls"]) for audit in audits if audit["RequestType"] == request_type]


def successes(outcomes: list[Outcome]) -> int:
    return sum(outcome.body["Status"] == "SUCCESS" for outcome in outcomes)


def record(phase: str, outcomes: list[Outcome], calls: CallLog, seconds: float, policy_after: tuple[dict, int]) -> None:
    statements, size = policy_after
    figures.record(
        "concurrency",
        phase,
        len(outcomes),
        successes(outcomes),
        calls.total,
        calls.errors["PreconditionFailedException"],
        seconds,
        len(statements),
        size,
    )
    calls.started.clear()
    calls.errors.clear()


def test_parallel_creates_then_parallel_deletes_leave_the_policy_exact(
    handle, response_url, lambda_api, layer_v1, lambda_calls, caplog
):
    caplog.set_level(logging.INFO, logger="layer_share_handler.audit")
    creates, seconds = all_at_once(handle, create_events(layer_v1, "share", response_url))

    assert successes(creates) == PARALLEL, [outcome.body["Reason"] for outcome in creates]
    physical_ids = [outcome.body["PhysicalResourceId"] for outcome in creates]
    assert all(physical_id.startswith(f"{layer_v1}#share-{n}#") for n, physical_id in enumerate(physical_ids))
    after = policy(lambda_api, layer_v1)
    assert after[0] == granted(layer_v1, "share")
    record(f"{PARALLEL} Creates on one version", creates, lambda_calls, seconds, after)

    deletes, seconds = all_at_once(handle, delete_events(layer_v1, "share", physical_ids, response_url))

    assert successes(deletes) == PARALLEL, [outcome.body["Reason"] for outcome in deletes]
    # Each Delete removes by the RevisionId its Create left: while the policy is still there, one call. The Creates
    # moved it on, so the others read, see the statement is theirs, and remove it by StatementId: three calls at
    # most, never refused by each other, and never throttled.
    per_delete = calls_per_event(caplog, "Delete")
    assert len(per_delete) == PARALLEL and max(per_delete) <= 3, per_delete
    assert set(lambda_calls.started) <= {"RemoveLayerVersionPermission", "GetLayerVersionPolicy"}
    assert lambda_calls.errors["PreconditionFailedException"] <= PARALLEL
    assert lambda_calls.errors["TooManyRequestsException"] == 0
    after = policy(lambda_api, layer_v1)
    assert after[0] == {}
    record(f"{PARALLEL} Deletes on the same version", deletes, lambda_calls, seconds, after)


def test_creates_on_one_version_while_deletes_run_on_another(
    handle, response_url, lambda_api, layer_name, layer_v1, lambda_calls
):
    layer_v2 = publish_layer(lambda_api, layer_name)
    existing, _ = all_at_once(handle, create_events(layer_v2, "old", response_url))
    assert policy(lambda_api, layer_v2)[0] == granted(layer_v2, "old")
    lambda_calls.started.clear()
    lambda_calls.errors.clear()
    physical_ids = [outcome.body["PhysicalResourceId"] for outcome in existing]

    events = create_events(layer_v1, "new", response_url) + delete_events(layer_v2, "old", physical_ids, response_url)
    outcomes, seconds = all_at_once(handle, events)

    assert successes(outcomes) == 2 * PARALLEL, [outcome.body["Reason"] for outcome in outcomes]
    after = policy(lambda_api, layer_v1)
    assert after[0] == granted(layer_v1, "new")
    assert policy(lambda_api, layer_v2)[0] == {}
    record(f"{PARALLEL} Creates on v1 while {PARALLEL} Deletes run on v2", outcomes, lambda_calls, seconds, after)


def test_creates_and_deletes_on_the_same_version_at_once_leave_exactly_the_new_grants(
    handle, response_url, lambda_api, layer_v1, lambda_calls
):
    existing, _ = all_at_once(handle, create_events(layer_v1, "old", response_url))
    lambda_calls.started.clear()
    lambda_calls.errors.clear()
    physical_ids = [outcome.body["PhysicalResourceId"] for outcome in existing]

    events = create_events(layer_v1, "new", response_url) + delete_events(layer_v1, "old", physical_ids, response_url)
    outcomes, seconds = all_at_once(handle, events)

    assert successes(outcomes) == 2 * PARALLEL, [outcome.body["Reason"] for outcome in outcomes]
    after = policy(lambda_api, layer_v1)
    assert after[0] == granted(layer_v1, "new")
    record(f"{PARALLEL} Creates and {PARALLEL} Deletes on the same version", outcomes, lambda_calls, seconds, after)
