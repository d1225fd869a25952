"""Faults at the ResponseURL: retried 5xx without redoing the work, 4xx never taken for success, silence bounded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.adversarial import figures
from tests.adversarial.conftest import Outcome
from tests.adversarial.events import ADD, create
from tests.adversarial.fault_proxy import THROTTLED
from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import OTHER_PARTNER, account_statement, grant_properties
from tests.standins import policy_statements

ACCEPTED = "CloudFormation accepted the response"


def lifecycle_event(
    request_type: str, handle: Callable, response_url: Callable[[], str], layer_version_arn: str
) -> tuple[dict[str, Any], dict[str, dict]]:
    """An event of `request_type` on a fresh grant, and the policy it must leave behind."""
    if request_type == "Create":
        return create(layer_version_arn, response_url()), {
            "share-partner": account_statement(layer_version_arn, "share-partner")
        }
    physical_id = handle(create(layer_version_arn, response_url())).body["PhysicalResourceId"]
    if request_type == "Update":
        event = cfn_event(
            "Update",
            "SharePartner",
            grant_properties(layer_version_arn, Principal=OTHER_PARTNER),
            response_url(),
            physical_id=physical_id,
            old_properties=grant_properties(layer_version_arn),
        )
        return event, {"share-partner": account_statement(layer_version_arn, "share-partner", OTHER_PARTNER)}
    return cfn_event(
        "Delete", "SharePartner", grant_properties(layer_version_arn), response_url(), physical_id=physical_id
    ), {}


def record(scenario: str, outcome: Outcome, caplog: pytest.LogCaptureFixture, writes: int) -> None:
    figures.record(
        "delivery",
        scenario,
        len(outcome.responses),
        caplog.text.count(ACCEPTED),
        writes,
        outcome.first_response_after,
        outcome.seconds,
        outcome.seconds_left,
    )


# Lambda writes each request type needs when nothing goes wrong: delivery retries must not add any.
WRITES = {"Create": 1, "Update": 2, "Delete": 1}


@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_503_twice_then_200_delivers_one_response_without_redoing_the_work(
    handle, response_url, receiver, lambda_api, layer_v1, lambda_calls, caplog, request_type
):
    event, expected_policy = lifecycle_event(request_type, handle, response_url, layer_v1)
    lambda_calls.started.clear()
    caplog.clear()
    caplog.set_level(logging.INFO)
    receiver.answers.extend([503, 503])

    outcome = handle(event)

    bodies = [response.body for response in outcome.responses]
    assert len(bodies) == 3 and bodies[0]["Status"] == "SUCCESS"
    assert bodies[1:] == [bodies[0]] * 2  # the same response each time, not a re-run
    assert caplog.text.count(ACCEPTED) == 1
    assert lambda_calls.writes == WRITES[request_type]
    assert policy_statements(lambda_api, layer_v1) == expected_policy
    record(f"{request_type}: ResponseURL answers 503, 503, 200", outcome, caplog, lambda_calls.writes)


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_4xx_from_the_response_url_is_a_delivery_failure_never_a_success(
    handle, response_url, receiver, lambda_api, layer_v1, lambda_calls, caplog, status
):
    caplog.set_level(logging.DEBUG)
    receiver.answers.append(status)

    outcome = handle(create(layer_v1, response_url()))

    assert len(outcome.responses) == 1  # a 4xx will not change its mind: no retry
    refusals = [record for record in caplog.records if f"refused the response with HTTP {status}" in record.message]
    assert [record.levelno for record in refusals] == [logging.ERROR]
    assert "accepted" not in caplog.text
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}
    record(f"Create: ResponseURL answers {status}", outcome, caplog, lambda_calls.writes)


def test_a_silent_response_url_after_retrying_until_the_deadline_still_ends_in_time(
    handle, response_url, receiver, lambda_api, layer_v1, lambda_faults, caplog
):
    """The worst case the handler can meet: retries until its deadline, then every delivery attempt times out."""
    caplog.set_level(logging.INFO)
    lambda_faults.plan(ADD, then=THROTTLED)
    receiver.answers.extend([None, None, None])

    # 20 s: 13.5 s of retries, then 6 s for the delivery: one 4 s attempt, a pause, and a shortened second attempt.
    outcome = handle(create(layer_v1, response_url()), timeout_seconds=20)

    assert len(outcome.responses) == 2
    assert {response.body["Status"] for response in outcome.responses} == {"FAILED"}
    assert "throttled by Lambda" in outcome.responses[0].body["Reason"]
    assert "not delivered after 2 attempts" in caplog.text
    assert "accepted" not in caplog.text
    assert outcome.seconds_left > 0
    assert policy_statements(lambda_api, layer_v1) == {}
    record(
        "Create throttled forever, ResponseURL never answers (20 s context)", outcome, caplog, lambda_faults.calls(ADD)
    )
