"""Short function timeouts: the whole lifecycle succeeds with 10, 15 and 30 s of Lambda time per event.

Each event runs with a fresh Lambda context of that timeout, as a warm function gets it, and must be answered
once, before the timeout. (Slow and throttled APIs under short timeouts: tests/adversarial/test_lambda_faults.py.)
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from layer_share_handler.entry import handler
from tests.cfn_protocol import STACK_ID, LambdaContext, cfn_event
from tests.handler.grant_resource import OTHER_PARTNER, account_statement, grant_properties
from tests.standins import policy_statements


def answered_in_time(receiver: Any, timeout: float, request_type: str, properties: dict, **fields: Any) -> dict:
    """Run one complete event with `timeout` seconds of Lambda time; its one response, checked field by field."""
    event = cfn_event(request_type, "SharePartner", properties, receiver.url(uuid.uuid4().hex), **fields)
    context = LambdaContext(timeout_seconds=timeout)

    handler(event, context)

    assert context.get_remaining_time_in_millis() > 0, "the handler returned after Lambda's timeout"
    [response] = receiver.responses_for(event["ResponseURL"].split("?")[0].rsplit("/", 1)[-1])
    body = response.body
    assert (body["Status"], body["Reason"]) == ("SUCCESS", "")
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        STACK_ID,
        event["RequestId"],
        "SharePartner",
    )
    return body


@pytest.mark.parametrize("timeout", [10, 15, 30])
def test_the_full_lifecycle_succeeds_with_a_short_function_timeout(receiver, lambda_api, layer_v1, timeout):
    first = grant_properties(layer_v1)
    changed = grant_properties(layer_v1, Principal=OTHER_PARTNER)
    same_as_changed = {**changed, "ServiceTimeout": "600"}
    renamed = grant_properties(layer_v1, statement_id="share-partner-2", Principal=OTHER_PARTNER)

    created = answered_in_time(receiver, timeout, "Create", first)
    assert created["PhysicalResourceId"] == f"{layer_v1}#share-partner#{created['Data']['RevisionId']}"

    updated = answered_in_time(
        receiver, timeout, "Update", changed, physical_id=created["PhysicalResourceId"], old_properties=first
    )
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert policy_statements(lambda_api, layer_v1) == {
        "share-partner": account_statement(layer_v1, "share-partner", OTHER_PARTNER)
    }

    kept = answered_in_time(
        receiver, timeout, "Update", same_as_changed, physical_id=updated["PhysicalResourceId"], old_properties=changed
    )
    assert kept["PhysicalResourceId"] == created["PhysicalResourceId"]

    # A failed Update elsewhere in the stack rolls this one back: the properties swapped.
    rolled_back = answered_in_time(
        receiver, timeout, "Update", first, physical_id=kept["PhysicalResourceId"], old_properties=same_as_changed
    )
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}

    replaced = answered_in_time(
        receiver, timeout, "Update", renamed, physical_id=rolled_back["PhysicalResourceId"], old_properties=first
    )
    assert replaced["PhysicalResourceId"].startswith(f"{layer_v1}#share-partner-2#")

    answered_in_time(receiver, timeout, "Delete", first, physical_id=rolled_back["PhysicalResourceId"])  # cleanup
    assert policy_statements(lambda_api, layer_v1) == {
        "share-partner-2": account_statement(layer_v1, "share-partner-2", OTHER_PARTNER)
    }

    answered_in_time(receiver, timeout, "Delete", renamed, physical_id=replaced["PhysicalResourceId"])
    assert policy_statements(lambda_api, layer_v1) == {}


@pytest.mark.parametrize("timeout", [10, 15, 30])
def test_a_rollback_delete_of_an_unknown_outcome_succeeds_with_a_short_function_timeout(
    receiver, lambda_api, layer_v1, timeout
):
    answered_in_time(receiver, timeout, "Create", grant_properties(layer_v1))

    # The Create's answer was lost: its ID names the statement without a RevisionId, so the Delete reads first.
    answered_in_time(receiver, timeout, "Delete", grant_properties(layer_v1), physical_id=f"{layer_v1}#share-partner#")

    assert policy_statements(lambda_api, layer_v1) == {}
