"""Faults on the Lambda API, injected on the real HTTP path: what reaches the ResponseURL, and what the policy is after.

Small Lambda contexts keep "forever" short, and show the time budget at the short timeouts users may set: with
10 s the handler keeps 3 s for the response and 0.5 s for crhelper's timer, and sizes its calls to the 6.5 s left.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from layer_share_handler.entry import lambda_client
from tests.adversarial import figures
from tests.adversarial.conftest import Outcome
from tests.adversarial.events import ADD, create, rollback_delete
from tests.adversarial.fault_proxy import (
    POLICY_FULL,
    SERVICE_EXCEPTION,
    THROTTLED,
    THROTTLED_RETRY_AFTER_1,
    Forward,
    Reset,
    Stall,
)
from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import OTHER_PARTNER, account_statement, add_by_hand, grant_properties
from tests.standins import REGION, policy_statements

SMALL_CONTEXT = 10.0  # seconds: 6.5 s for calls and retries


def revision_of(lambda_api: Any, layer_version_arn: str) -> str:
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    return lambda_api.get_layer_version_policy(LayerName=layer_arn, VersionNumber=int(version))["RevisionId"]


def record(scenario: str, calls: int, outcome: Outcome, statements: dict) -> None:
    statuses = "/".join(response.body["Status"] for response in outcome.responses)
    figures.record(
        "lambda",
        scenario,
        calls,
        len(outcome.responses),
        statuses,
        outcome.first_response_after,
        outcome.seconds,
        outcome.seconds_left,
        len(statements),
    )


@pytest.mark.parametrize("throttles", [1, 3])
def test_throttled_create_is_retried_until_it_succeeds(
    handle, response_url, lambda_api, layer_v1, lambda_faults, throttles
):
    lambda_faults.plan(ADD, *[THROTTLED] * throttles)

    outcome = handle(create(layer_v1, response_url()))

    assert outcome.body["Status"] == "SUCCESS"
    assert outcome.body["PhysicalResourceId"] == f"{layer_v1}#share-partner#{revision_of(lambda_api, layer_v1)}"
    assert lambda_faults.calls(ADD) == throttles + 1
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner")}
    record(f"Create, throttled {throttles}x then answered", lambda_faults.calls(ADD), outcome, statements)


@pytest.mark.parametrize("timeout", [10, 15])
def test_create_throttled_forever_fails_as_throttled_before_the_deadline(
    handle, response_url, lambda_api, layer_v1, lambda_faults, timeout
):
    lambda_faults.plan(ADD, then=THROTTLED)
    event = create(layer_v1, response_url())

    outcome = handle(event, timeout_seconds=timeout)

    assert outcome.body["Status"] == "FAILED"
    assert "throttled by Lambda" in outcome.body["Reason"]
    assert "ran out of time" not in outcome.body["Reason"]  # the handler's own bound ended it, not the timer
    assert outcome.body["PhysicalResourceId"] == f"not-granted-{event['RequestId']}"  # a 429 changed nothing
    assert outcome.seconds_left > 0
    assert lambda_faults.calls(ADD) >= 3
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {}
    record(f"Create, throttled forever ({timeout} s context)", lambda_faults.calls(ADD), outcome, statements)


def test_throttled_answers_are_retried_no_sooner_than_retry_after_asks(
    handle, response_url, lambda_api, layer_v1, lambda_faults
):
    lambda_faults.plan(ADD, THROTTLED_RETRY_AFTER_1, THROTTLED_RETRY_AFTER_1)

    outcome = handle(create(layer_v1, response_url()), timeout_seconds=SMALL_CONTEXT)

    assert outcome.body["Status"] == "SUCCESS"
    assert lambda_faults.calls(ADD) == 3
    assert outcome.seconds >= 2  # two waits of the second Lambda asked for
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner")}
    record("Create, 429 with Retry-After: 1 twice, then answered", lambda_faults.calls(ADD), outcome, statements)


def test_service_exception_is_retried_until_lambda_recovers(handle, response_url, lambda_api, layer_v1, lambda_faults):
    lambda_faults.plan(ADD, SERVICE_EXCEPTION, SERVICE_EXCEPTION)

    outcome = handle(create(layer_v1, response_url()))

    assert outcome.body["Status"] == "SUCCESS"
    assert lambda_faults.calls(ADD) == 3
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner")}
    record("Create, 500 ServiceException 2x then answered", lambda_faults.calls(ADD), outcome, statements)


def test_service_exception_forever_fails_with_an_id_the_rollback_can_check(
    handle, response_url, lambda_api, layer_v1, lambda_faults
):
    lambda_faults.plan(ADD, then=SERVICE_EXCEPTION)

    outcome = handle(create(layer_v1, response_url()), timeout_seconds=SMALL_CONTEXT)

    assert outcome.body["Status"] == "FAILED"
    assert "ServiceException" in outcome.body["Reason"]
    # After a 5xx the grant may have landed, so the ID names it for the rollback Delete to check.
    assert outcome.body["PhysicalResourceId"] == f"{layer_v1}#share-partner#"
    assert outcome.seconds_left > 0
    assert lambda_faults.calls(ADD) >= 3
    record(
        "Create, 500 ServiceException forever (10 s context)",
        lambda_faults.calls(ADD),
        outcome,
        policy_statements(lambda_api, layer_v1),
    )

    rollback = handle(rollback_delete(layer_v1, response_url(), outcome.body["PhysicalResourceId"]))

    assert rollback.body["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v1) == {}


def test_connection_reset_after_the_grant_landed_is_retried_without_a_duplicate(
    handle, response_url, lambda_api, layer_v1, lambda_faults
):
    lambda_faults.plan(ADD, Reset(after_forwarding=True), Reset(after_forwarding=True))

    outcome = handle(create(layer_v1, response_url()))

    assert outcome.body["Status"] == "SUCCESS"
    assert outcome.body["PhysicalResourceId"] == f"{layer_v1}#share-partner#{revision_of(lambda_api, layer_v1)}"
    assert lambda_faults.calls(ADD) == 3
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner")}
    record("Create, connection reset 2x after landing, then answered", lambda_faults.calls(ADD), outcome, statements)


def test_connection_reset_forever_fails_and_the_rollback_removes_what_landed(
    handle, response_url, lambda_api, layer_v1, lambda_faults
):
    lambda_faults.plan(ADD, then=Reset(after_forwarding=True))

    outcome = handle(create(layer_v1, response_url()), timeout_seconds=SMALL_CONTEXT)

    assert outcome.body["Status"] == "FAILED"
    assert "ConnectionClosedError" in outcome.body["Reason"]
    assert outcome.body["PhysicalResourceId"] == f"{layer_v1}#share-partner#"
    assert outcome.seconds_left > 0
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner")}  # it landed, unanswered
    record(
        "Create, connection reset forever after landing (10 s context)", lambda_faults.calls(ADD), outcome, statements
    )

    rollback = handle(rollback_delete(layer_v1, response_url(), outcome.body["PhysicalResourceId"]))

    assert rollback.body["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v1) == {}


def test_read_timeout_after_the_grant_landed_is_retried_and_adopts_it(
    handle, response_url, lambda_api, layer_v1, lambda_faults
):
    lambda_faults.plan(ADD, Stall(after_forwarding=True))

    # 15 s leave 10 s for calls: an 8 s read timeout, then the retry and the read that adopts the grant.
    outcome = handle(create(layer_v1, response_url()), timeout_seconds=15)

    assert outcome.body["Status"] == "SUCCESS"
    assert outcome.body["PhysicalResourceId"] == f"{layer_v1}#share-partner#{revision_of(lambda_api, layer_v1)}"
    assert lambda_faults.calls(ADD) == 2
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner")}
    record(
        "Create, read timeout after landing, then answered (15 s context)",
        lambda_faults.calls(ADD),
        outcome,
        statements,
    )


@pytest.mark.parametrize("timeout", [10, 30])
def test_read_timeout_forever_ends_in_one_failed_before_the_deadline(
    handle, response_url, lambda_api, layer_v1, lambda_faults, timeout
):
    lambda_faults.plan(ADD, then=Stall())

    outcome = handle(create(layer_v1, response_url()), timeout_seconds=timeout)

    assert outcome.body["Status"] == "FAILED"
    assert "ReadTimeoutError" in outcome.body["Reason"]
    assert outcome.body["PhysicalResourceId"] == f"{layer_v1}#share-partner#"
    assert outcome.seconds_left > 0
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {}
    record(f"Create, read timeout forever ({timeout} s context)", lambda_faults.calls(ADD), outcome, statements)


def test_an_answer_later_than_the_time_left_ends_the_call_at_its_shrunk_read_timeout(
    handle, response_url, lambda_api, layer_v1, lambda_faults, caplog
):
    caplog.set_level(logging.INFO)
    lambda_faults.plan(ADD, Forward(delay=3.0))

    # 4 s leave 2.3 s for calls: the read timeout shrinks to 1.3 s; the call lands at once, its answer comes at 3 s.
    outcome = handle(create(layer_v1, response_url()), timeout_seconds=4)

    assert [response.body["Status"] for response in outcome.responses] == ["FAILED"]
    assert "ReadTimeoutError" in outcome.body["Reason"]
    assert outcome.body["PhysicalResourceId"] == f"{layer_v1}#share-partner#"
    assert "A response was already sent for this event" not in caplog.text  # crhelper's timer never had to answer
    assert outcome.seconds_left > 0
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner")}
    record("Create, answer 3 s late with 4 s left", lambda_faults.calls(ADD), outcome, statements)

    rollback = handle(rollback_delete(layer_v1, response_url(), outcome.body["PhysicalResourceId"]))

    assert rollback.body["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v1) == {}


class _RuntimeStopped(BaseException):
    """The Lambda runtime stopping mid-invocation: nothing in the handler may catch it."""


@pytest.fixture
def stops_after_first_grant(lambda_standin) -> Any:
    """Fault hook: the first grant lands, then the runtime stops before any response; yields the revision it made."""
    landed: list[str] = []

    def stop(parsed: Any, **_: Any) -> None:
        if not landed:
            landed.append(parsed["RevisionId"])
            raise _RuntimeStopped()

    events = lambda_client(REGION).meta.events
    events.register(f"after-call.lambda.{ADD}", stop, unique_id="adversarial-runtime-stops")
    yield landed
    events.unregister(f"after-call.lambda.{ADD}", unique_id="adversarial-runtime-stops")


def test_lambda_retrying_a_create_that_landed_unanswered_succeeds_with_the_same_id(
    handle, response_url, lambda_api, layer_v1, lambda_calls, stops_after_first_grant
):
    event = create(layer_v1, response_url())
    with pytest.raises(_RuntimeStopped):
        handle(event)
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}

    # Lambda retries an asynchronous invocation that failed, with the very same event, up to twice.
    retries = [handle(event), handle(event)]

    expected_id = f"{layer_v1}#share-partner#{stops_after_first_grant[0]}"
    assert len(retries[1].responses) == 2  # one response per retry, at the shared ResponseURL
    assert [response.body["Status"] for response in retries[1].responses] == ["SUCCESS", "SUCCESS"]
    assert [response.body["PhysicalResourceId"] for response in retries[1].responses] == [expected_id] * 2
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner")}
    figures.record(
        "lambda",
        "Create landed, runtime stopped before responding, Lambda retried it 2x",
        lambda_calls.total,
        len(retries[1].responses),
        "/".join(response.body["Status"] for response in retries[1].responses),
        max(retry.first_response_after for retry in retries),
        max(retry.seconds for retry in retries),
        min(retry.seconds_left for retry in retries),
        len(statements),
    )


@pytest.fixture
def concurrent_writer(lambda_standin, lambda_api, layer_v1) -> Any:
    """Fault hook: just before each of the handler's first 3 removes, another writer adds a statement."""
    intruders: list[str] = []

    def write_first(**_: Any) -> None:
        if len(intruders) < 3:
            intruders.append(f"intruder-{len(intruders) + 1}")
            add_by_hand(lambda_api, layer_v1, intruders[-1], OTHER_PARTNER)

    events = lambda_client(REGION).meta.events
    events.register(
        "before-call.lambda.RemoveLayerVersionPermission", write_first, unique_id="adversarial-concurrent-writer"
    )
    yield intruders
    events.unregister("before-call.lambda.RemoveLayerVersionPermission", unique_id="adversarial-concurrent-writer")


def intruder_statements(layer_version_arn: str, intruders: list[str]) -> dict[str, dict]:
    return {sid: account_statement(layer_version_arn, sid, OTHER_PARTNER) for sid in intruders}


def test_delete_racing_another_writer_reads_after_the_precondition_fails_and_removes_only_its_statement(
    handle, response_url, lambda_api, layer_v1, lambda_calls, concurrent_writer
):
    created = handle(create(layer_v1, response_url())).body
    lambda_calls.started.clear()

    outcome = handle(rollback_delete(layer_v1, response_url(), created["PhysicalResourceId"]))

    assert outcome.body["Status"] == "SUCCESS"
    # The remove conditioned on the Create's RevisionId finds the policy moved on (412); the read finds the
    # statement still the grant's, and the remove by StatementId takes it alone, whatever else was written since.
    assert lambda_calls.started == {"RemoveLayerVersionPermission": 2, "GetLayerVersionPolicy": 1}
    assert lambda_calls.errors["PreconditionFailedException"] == 1
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == intruder_statements(layer_v1, concurrent_writer)
    record("Delete, another writer changed the policy just before", lambda_calls.total, outcome, statements)


def test_delete_of_an_unknown_outcome_racing_another_writer_reads_once_and_removes_only_its_statement(
    handle, response_url, lambda_api, layer_v1, lambda_calls, concurrent_writer
):
    handle(create(layer_v1, response_url()))
    lambda_calls.started.clear()

    outcome = handle(rollback_delete(layer_v1, response_url(), f"{layer_v1}#share-partner#"))

    assert outcome.body["Status"] == "SUCCESS"
    # The read shows the statement is the grant's; the remove names the StatementId, not the RevisionId read, so
    # the writer that got in between is neither refused nor touched.
    assert lambda_calls.started == {"GetLayerVersionPolicy": 1, "RemoveLayerVersionPermission": 1}
    assert lambda_calls.errors["PreconditionFailedException"] == 0
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == intruder_statements(layer_v1, concurrent_writer)
    record(
        "Delete of an unknown outcome, another writer changed the policy between its read and its remove",
        lambda_calls.total,
        outcome,
        statements,
    )


def test_update_racing_another_writer_replaces_its_statement_in_one_read_and_two_writes(
    handle, response_url, lambda_api, layer_v1, lambda_calls, concurrent_writer
):
    created = handle(create(layer_v1, response_url())).body
    lambda_calls.started.clear()
    changed = grant_properties(layer_v1, Principal=OTHER_PARTNER)
    event = cfn_event(
        "Update",
        "SharePartner",
        changed,
        response_url(),
        physical_id=created["PhysicalResourceId"],
        old_properties=grant_properties(layer_v1),
    )

    outcome = handle(event)

    assert outcome.body["Status"] == "SUCCESS"
    assert outcome.body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert lambda_calls.started == {"GetLayerVersionPolicy": 1, "RemoveLayerVersionPermission": 1, ADD: 1}
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {
        "share-partner": account_statement(layer_v1, "share-partner", OTHER_PARTNER),
        **intruder_statements(layer_v1, concurrent_writer),
    }
    record("Update, another writer changed the policy just before", lambda_calls.total, outcome, statements)


def test_a_full_policy_fails_the_create_saying_so_and_touches_nothing(
    handle, response_url, lambda_api, layer_v1, lambda_faults
):
    for statement_id in ("existing-1", "existing-2", "existing-3"):
        add_by_hand(lambda_api, layer_v1, statement_id, OTHER_PARTNER)
    before = policy_statements(lambda_api, layer_v1)
    lambda_faults.plan(ADD, then=POLICY_FULL)
    event = create(layer_v1, response_url())

    outcome = handle(event)

    assert outcome.body["Status"] == "FAILED"
    assert "PolicyLengthExceededException" in outcome.body["Reason"]
    assert "permissions policy is full" in outcome.body["Reason"]
    assert outcome.body["PhysicalResourceId"] == f"not-granted-{event['RequestId']}"
    assert lambda_faults.calls(ADD) == 1  # a full policy stays full: no retry
    assert policy_statements(lambda_api, layer_v1) == before
    record("Create, PolicyLengthExceeded", lambda_faults.calls(ADD), outcome, before)

    rollback = handle(rollback_delete(layer_v1, response_url(), outcome.body["PhysicalResourceId"]))

    assert rollback.body["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v1) == before


@pytest.mark.parametrize("outcome_known", [True, False], ids=["granted", "outcome-unknown"])
def test_delete_after_the_layer_version_was_deleted_succeeds_with_one_call(
    handle, response_url, lambda_api, layer_name, layer_v1, lambda_calls, outcome_known
):
    created = handle(create(layer_v1, response_url())).body
    physical_id = created["PhysicalResourceId"] if outcome_known else f"{layer_v1}#share-partner#"
    lambda_api.delete_layer_version(LayerName=layer_name, VersionNumber=1)
    lambda_calls.started.clear()

    outcome = handle(rollback_delete(layer_v1, response_url(), physical_id))

    assert outcome.body["Status"] == "SUCCESS"
    assert outcome.body["PhysicalResourceId"] == physical_id
    # A granted statement is removed by StatementId; an unknown outcome is read first, and there is nothing to read.
    expected_call = "RemoveLayerVersionPermission" if outcome_known else "GetLayerVersionPolicy"
    assert lambda_calls.started == {expected_call: 1}
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {}
    kind = "granted" if outcome_known else "outcome-unknown"
    record(f"Delete ({kind} ID) after the layer version was deleted", lambda_calls.total, outcome, statements)


def test_update_of_the_principal_after_a_removal_by_hand_reads_and_regrants_it_in_one_add(
    handle, response_url, lambda_api, layer_v1, lambda_calls
):
    created = handle(create(layer_v1, response_url())).body
    layer_arn, version = layer_v1.rsplit(":", 1)
    lambda_api.remove_layer_version_permission(
        LayerName=layer_arn, VersionNumber=int(version), StatementId="share-partner"
    )
    lambda_calls.started.clear()
    event = cfn_event(
        "Update",
        "SharePartner",
        grant_properties(layer_v1, Principal=OTHER_PARTNER),
        response_url(),
        physical_id=created["PhysicalResourceId"],
        old_properties=grant_properties(layer_v1),
    )

    outcome = handle(event)

    assert outcome.body["Status"] == "SUCCESS"
    assert outcome.body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert outcome.body["Data"]["RevisionId"] == revision_of(lambda_api, layer_v1)
    assert lambda_calls.started == {"GetLayerVersionPolicy": 1, ADD: 1}
    statements = policy_statements(lambda_api, layer_v1)
    assert statements == {"share-partner": account_statement(layer_v1, "share-partner", OTHER_PARTNER)}
    record("Update of the principal after the statement was removed by hand", lambda_calls.total, outcome, statements)
