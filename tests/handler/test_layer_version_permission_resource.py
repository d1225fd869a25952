"""The handler's contract with CloudFormation, driven through the real entry point with complete events.

Lambda is a moto server over HTTP with faithful layer policies (tools/standins.py); responses go to
a local HTTPS receiver. Each test asserts what reached the ResponseURL and the resulting policy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from layer_share_handler.entry import lambda_client
from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import (
    ORGANIZATION,
    OTHER_PARTNER,
    PARTNER,
    GrantResource,
    account_statement,
    add_by_hand,
    grant_properties,
    send,
)
from tests.standins import policy_statements, publish_layer


def test_create_grants_the_statement_and_reports_it(invoke, receiver, lambda_api, layer_v1):
    body = send(invoke, receiver, "Create", grant_properties(layer_v1))

    revision_id = body["Data"]["RevisionId"]
    assert body["Status"] == "SUCCESS"
    assert body["Reason"] == ""
    assert body["PhysicalResourceId"] == f"{layer_v1}#share-partner#{revision_id}"
    assert body["Data"]["StatementId"] == "share-partner"
    assert body["Data"]["LayerVersionArn"] == layer_v1
    assert json.loads(body["Data"]["Statement"]) == account_statement(layer_v1, "share-partner")
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}


def test_create_with_a_bare_layer_name_uses_the_functions_account_and_region(invoke, receiver, lambda_api, layer_v1):
    properties = grant_properties(layer_v1, LayerName=layer_v1.split(":")[6])

    body = send(invoke, receiver, "Create", properties)

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"].startswith(f"{layer_v1}#share-partner#")
    assert set(policy_statements(lambda_api, layer_v1)) == {"share-partner"}


def test_create_shares_with_an_organization(invoke, receiver, lambda_api, layer_v1):
    body = send(invoke, receiver, "Create", grant_properties(layer_v1, Principal="*", OrganizationId=ORGANIZATION))

    assert body["Status"] == "SUCCESS"
    statement = policy_statements(lambda_api, layer_v1)["share-partner"]
    assert statement["Principal"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION}}


def test_repeated_create_adopts_the_identical_statement(invoke, receiver, lambda_api, layer_v1):
    first = send(invoke, receiver, "Create", grant_properties(layer_v1))
    again = send(invoke, receiver, "Create", grant_properties(layer_v1))

    assert again["Status"] == "SUCCESS"
    assert again["PhysicalResourceId"] == first["PhysicalResourceId"]
    assert list(policy_statements(lambda_api, layer_v1)) == ["share-partner"]


def test_create_conflicting_with_a_foreign_statement_fails_and_leaves_it(invoke, receiver, lambda_api, layer_v1):
    add_by_hand(lambda_api, layer_v1, principal=OTHER_PARTNER)

    body = send(invoke, receiver, "Create", grant_properties(layer_v1))

    assert body["Status"] == "FAILED"
    assert "share-partner" in body["Reason"] and OTHER_PARTNER in body["Reason"]
    assert "left untouched" in body["Reason"]
    assert not body["PhysicalResourceId"].startswith("arn:")
    foreign = account_statement(layer_v1, "share-partner", OTHER_PARTNER)
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": foreign}

    rollback = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=body["PhysicalResourceId"])

    assert rollback["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": foreign}


def test_create_with_bad_input_fails_quoting_the_value_and_the_rule(invoke, receiver, lambda_api, layer_v1):
    body = send(invoke, receiver, "Create", grant_properties(layer_v1, VersionNumber="1.5"))

    assert body["Status"] == "FAILED"
    assert "VersionNumber" in body["Reason"] and "'1.5'" in body["Reason"]
    assert "positive whole number" in body["Reason"]
    assert not body["PhysicalResourceId"].startswith("arn:")
    assert policy_statements(lambda_api, layer_v1) == {}


def test_unknown_property_is_named_with_the_allowed_ones(invoke, receiver, layer_v1):
    properties = grant_properties(layer_v1)
    properties["Principle"] = properties.pop("Principal")

    body = send(invoke, receiver, "Create", properties)

    assert body["Status"] == "FAILED"
    assert "'Principle'" in body["Reason"]
    assert "allowed: LayerName, VersionNumber, StatementId, Principal" in body["Reason"]


def test_delete_after_failed_create_is_a_no_op(invoke, receiver, lambda_api, layer_v1):
    failed = send(invoke, receiver, "Create", grant_properties(layer_v1, Principal="everyone"))
    assert failed["Status"] == "FAILED"

    body = send(
        invoke,
        receiver,
        "Delete",
        grant_properties(layer_v1, Principal="everyone"),
        physical_id=failed["PhysicalResourceId"],
    )

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == failed["PhysicalResourceId"]


def test_update_of_the_principal_replaces_the_statement_in_place(invoke, receiver, lambda_api, layer_v1):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    created = grant.create()

    _, body = grant.change(grant_properties(layer_v1, Principal=OTHER_PARTNER))

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]  # so CloudFormation sends no cleanup Delete
    assert body["Data"]["RevisionId"] != created["Data"]["RevisionId"]
    assert policy_statements(lambda_api, layer_v1) == {
        "share-partner": account_statement(layer_v1, "share-partner", OTHER_PARTNER)
    }


def test_update_of_the_principal_regrants_a_statement_removed_by_hand(invoke, receiver, lambda_api, layer_v1):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    created = grant.create()
    layer_arn, version = layer_v1.rsplit(":", 1)
    lambda_api.remove_layer_version_permission(
        LayerName=layer_arn, VersionNumber=int(version), StatementId="share-partner"
    )

    _, body = grant.change(grant_properties(layer_v1, Principal=OTHER_PARTNER))

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert policy_statements(lambda_api, layer_v1) == {
        "share-partner": account_statement(layer_v1, "share-partner", OTHER_PARTNER)
    }


def test_update_with_invalid_properties_fails_before_touching_the_grant(invoke, receiver, lambda_api, layer_v1):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    created = grant.create()

    _, body = grant.change(grant_properties(layer_v1, Principal="2234"))

    assert body["Status"] == "FAILED"
    assert "'2234'" in body["Reason"]
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}


def test_update_to_a_new_version_grants_it_and_cleanup_revokes_the_old(
    invoke, receiver, lambda_api, layer_name, layer_v1
):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    created = grant.create()
    layer_v2 = publish_layer(lambda_api, layer_name)

    _, body = grant.change(grant_properties(layer_v2))

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"].startswith(f"{layer_v2}#share-partner#")
    assert set(policy_statements(lambda_api, layer_v2)) == {"share-partner"}
    assert set(policy_statements(lambda_api, layer_v1)) == {"share-partner"}

    cleanup = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=created["PhysicalResourceId"])

    assert cleanup["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v1) == {}
    assert set(policy_statements(lambda_api, layer_v2)) == {"share-partner"}


def test_rollback_of_a_replacement_keeps_the_old_grant(invoke, receiver, lambda_api, layer_name, layer_v1):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    grant.create()
    layer_v2 = publish_layer(lambda_api, layer_name)
    _, replaced = grant.change(grant_properties(layer_v2))

    # The stack fails elsewhere: CloudFormation rolls back and deletes the new physical resource.
    rollback = send(invoke, receiver, "Delete", grant_properties(layer_v2), physical_id=replaced["PhysicalResourceId"])

    assert rollback["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v2) == {}
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}


def test_update_to_a_new_statement_id_is_a_new_identity(invoke, receiver, lambda_api, layer_v1):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    grant.create()

    _, body = grant.change(grant_properties(layer_v1, statement_id="share-partner-2"))

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"].startswith(f"{layer_v1}#share-partner-2#")
    assert set(policy_statements(lambda_api, layer_v1)) == {"share-partner", "share-partner-2"}


def test_delete_removes_exactly_the_named_statement(invoke, receiver, lambda_api, layer_v1):
    created = send(invoke, receiver, "Create", grant_properties(layer_v1))
    send(invoke, receiver, "Create", grant_properties(layer_v1, statement_id="neighbour", Principal=OTHER_PARTNER))

    body = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=created["PhysicalResourceId"])

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert set(policy_statements(lambda_api, layer_v1)) == {"neighbour"}


def test_delete_when_the_statement_is_already_gone_succeeds(invoke, receiver, lambda_api, layer_v1):
    created = send(invoke, receiver, "Create", grant_properties(layer_v1))
    send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=created["PhysicalResourceId"])

    body = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=created["PhysicalResourceId"])

    assert body["Status"] == "SUCCESS"


def test_delete_when_the_layer_version_is_gone_succeeds(invoke, receiver, lambda_api, layer_name, layer_v1):
    created = send(invoke, receiver, "Create", grant_properties(layer_v1))
    lambda_api.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    body = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=created["PhysicalResourceId"])

    assert body["Status"] == "SUCCESS"


@pytest.fixture
def response_lost_after_add(lambda_standin):
    """Fault hook: the first AddLayerVersionPermission request lands, then its answer is lost on the way back."""
    client = lambda_client("us-east-1")
    answers = []

    def lose_answer(**_: Any) -> None:
        answers.append(1)
        if len(answers) == 1:
            raise ReadTimeoutError(endpoint_url="http://127.0.0.1 (stand-in)")

    client.meta.events.register("after-call.lambda.AddLayerVersionPermission", lose_answer, unique_id="lose")
    yield client
    client.meta.events.unregister("after-call.lambda.AddLayerVersionPermission", unique_id="lose")


@pytest.fixture
def lambda_unreachable_after_add(response_lost_after_add):
    """Fault hook: after the first add lands and its answer is lost, every further call fails to connect."""
    calls = []

    def refuse(model: Any, **_: Any) -> None:
        calls.append(model.name)
        if len(calls) > 1:
            raise ConnectionClosedError(endpoint_url="http://127.0.0.1 (stand-in)")

    response_lost_after_add.meta.events.register("before-call.lambda", refuse, unique_id="refuse")
    yield
    response_lost_after_add.meta.events.unregister("before-call.lambda", unique_id="refuse")


def test_create_whose_answer_was_lost_adopts_its_own_grant(
    invoke, receiver, lambda_api, layer_v1, response_lost_after_add
):
    body = send(invoke, receiver, "Create", grant_properties(layer_v1))

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"].startswith(f"{layer_v1}#share-partner#")
    assert body["PhysicalResourceId"] != f"{layer_v1}#share-partner#"
    assert list(policy_statements(lambda_api, layer_v1)) == ["share-partner"]


def test_create_with_unknown_outcome_fails_with_an_id_the_rollback_cleans_up(
    invoke, receiver, lambda_api, layer_v1, lambda_unreachable_after_add
):
    # 4 s of Lambda time leave about 2.3 s for retries once the delivery bound and the timer margin are set aside.
    event = cfn_event("Create", "SharePartner", grant_properties(layer_v1), receiver.url("unknown-outcome"))
    [response] = invoke(event, timeout_seconds=4)

    assert response.body["Status"] == "FAILED"
    assert response.body["PhysicalResourceId"] == f"{layer_v1}#share-partner#"
    assert "ConnectionClosedError" in response.body["Reason"]
    assert list(policy_statements(lambda_api, layer_v1)) == ["share-partner"]  # it landed after all


def test_rollback_delete_of_an_unknown_outcome_removes_a_matching_grant(invoke, receiver, lambda_api, layer_v1):
    add_by_hand(lambda_api, layer_v1, principal=PARTNER)

    body = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=f"{layer_v1}#share-partner#")

    assert body["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v1) == {}


def test_rollback_delete_of_an_unknown_outcome_keeps_a_statement_that_is_not_ours(
    invoke, receiver, lambda_api, layer_v1
):
    add_by_hand(lambda_api, layer_v1, principal=OTHER_PARTNER)

    body = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=f"{layer_v1}#share-partner#")

    assert body["Status"] == "SUCCESS"
    assert policy_statements(lambda_api, layer_v1) == {
        "share-partner": account_statement(layer_v1, "share-partner", OTHER_PARTNER)
    }


def test_malformed_event_is_answered_at_its_own_response_url(invoke, receiver, layer_v1):
    earlier = cfn_event("Create", "SharePartner", grant_properties(layer_v1), receiver.url("earlier"))
    invoke(earlier)
    malformed = {"RequestType": "Create", "ResponseURL": receiver.url("malformed"), "ResourceProperties": {}}

    [response] = invoke(malformed)

    assert response.body["Status"] == "FAILED"
    assert "StackId" in response.body["Reason"]
    assert len(receiver.responses_for("earlier")) == 1


def test_unknown_request_type_fails_with_the_allowed_ones(invoke, receiver, layer_v1):
    body = send(invoke, receiver, "Upsert", grant_properties(layer_v1))

    assert body["Status"] == "FAILED"
    assert "'Upsert'" in body["Reason"] and "Create, Update, Delete" in body["Reason"]


@pytest.fixture
def slow_lambda(lambda_standin):
    """Fault hook: every Lambda call takes 3 s, longer than the invocation has left."""
    import time

    client = lambda_client("us-east-1")
    client.meta.events.register("before-call.lambda", lambda **_: time.sleep(3), unique_id="slow")
    yield
    client.meta.events.unregister("before-call.lambda", unique_id="slow")


def test_a_call_slower_than_the_remaining_time_gets_exactly_one_response(
    invoke, receiver, lambda_api, layer_v1, slow_lambda
):
    event = cfn_event("Create", "SharePartner", grant_properties(layer_v1), receiver.url("too-slow"))

    # 3 s leave room for one call to start; crhelper's timer answers at 2.5 s, while the call still hangs.
    responses = invoke(event, timeout_seconds=3)

    assert [response.body["Status"] for response in responses] == ["FAILED"]
    assert responses[0].body["PhysicalResourceId"] == f"{layer_v1}#share-partner#"
    assert "ran out of time" in responses[0].body["Reason"]
