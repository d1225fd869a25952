"""The ways deployments really go, through the real entry point: retries, rollbacks, hand-edited policies, deleted
versions. Each test asserts the responses and every version's policy after the events."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest

from layer_share_handler import entry
from layer_share_handler.lifecycle import Clients
from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import (
    OTHER_PARTNER,
    PARTNER,
    STATEMENT_ID,
    STRANGER,
    GrantResource,
    add_by_hand,
    grant_properties,
    lambda_statement,
    shared,
)
from tests.standins import account_statement


def empty(numbers: Any) -> dict[int, dict[str, Any]]:
    return {number: {} for number in numbers}


def everywhere(versions: list[str], principal: str = PARTNER) -> dict[int, dict[str, Any]]:
    return {n: {STATEMENT_ID: lambda_statement(arn, principal)} for n, arn in enumerate(versions, start=1)}


def test_a_stack_delete_retried_after_a_throttled_failure_revokes_every_kept_version(
    lambda_api, versions, new_grant, throttle
):
    grant = new_grant(versions[0])
    grant.create()
    for version_arn in versions[1:]:
        grant.move(version_arn)
    assert shared(lambda_api, versions) == everywhere(versions)
    throttled = throttle("RemoveLayerVersionPermission", 2)

    failed = grant.delete(timeout=8)
    left_after_failure = shared(lambda_api, versions)
    throttled.lift()
    retried = grant.delete()

    assert failed["Status"] == "FAILED"
    assert "Not done: versions" in failed["Reason"]
    assert sum(1 for statements in left_after_failure.values() if statements) == 3
    assert (retried["Status"], retried["Reason"]) == ("SUCCESS", "")
    assert shared(lambda_api, versions) == empty(range(1, 6))


def test_a_stack_delete_after_the_owner_deleted_the_current_version_revokes_the_older_ones(
    lambda_api, versions, new_grant
):
    grant = new_grant(versions[0])
    grant.create()
    for version_arn in versions[1:]:
        grant.move(version_arn)
    lambda_api.delete_layer_version(LayerName=versions[4].rsplit(":", 1)[0], VersionNumber=5)

    response = grant.delete()

    assert response["Status"] == "SUCCESS"
    assert shared(lambda_api, versions[:4]) == empty(range(1, 5))


@pytest.mark.parametrize("keep_versions", [None, "1"])
def test_a_foreign_statement_under_the_statement_id_on_a_newer_version_is_never_taken_for_the_grants(
    lambda_api, versions, new_grant, keep_versions
):
    grant = new_grant(versions[0], keep_versions=keep_versions)
    grant.create()
    grant.move(versions[1])
    add_by_hand(lambda_api, versions[3])

    grant.move(versions[2])
    response = grant.delete()

    assert response["Status"] == "SUCCESS"
    assert shared(lambda_api, versions) == {
        **empty(range(1, 6)),
        4: {STATEMENT_ID: lambda_statement(versions[3], STRANGER)},
    }


@pytest.mark.parametrize("move", [False, True])
def test_a_principal_change_with_keep_versions_lowered_to_one_leaves_the_old_principal_nowhere(
    lambda_api, versions, new_grant, move
):
    grant = new_grant(versions[0], keep_versions="5")
    grant.create()
    for version_arn in versions[1:3]:
        grant.move(version_arn)
    assert shared(lambda_api, versions[:3]) == everywhere(versions[:3])

    grant.move(versions[3] if move else versions[2], Principal=OTHER_PARTNER, KeepVersions="1")

    current = 4 if move else 3
    assert shared(lambda_api, versions) == {
        **empty(range(1, 6)),
        current: {STATEMENT_ID: lambda_statement(versions[current - 1], OTHER_PARTNER)},
    }
    assert grant.delete()["Status"] == "SUCCESS"
    assert shared(lambda_api, versions) == empty(range(1, 6))


def test_the_rollback_of_a_move_to_an_older_version_leaves_every_version_as_before(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions="2")
    grant.create()
    grant.move(versions[1])
    grant.move(versions[2])
    before = shared(lambda_api, versions)

    replaced, response = grant.update(versions[0])
    assert response["Status"] == "SUCCESS"
    grant.roll_back(replaced)

    assert shared(lambda_api, versions) == before
    assert before == {**everywhere(versions[:3]), 1: {}, 4: {}, 5: {}}


def test_the_rollback_of_a_forward_move_never_removes_the_live_statement(lambda_api, versions, new_grant, wire):
    grant = new_grant(versions[0], keep_versions="2")
    grant.create()
    grant.move(versions[1])
    before = shared(lambda_api, versions)
    replaced, response = grant.update(versions[2])
    assert response["Status"] == "SUCCESS"
    wire.take()

    grant.roll_back(replaced)

    # The rollback Update reads the live version and writes nothing; the cleanup of the failed copy removes the
    # statement on version 3 alone.
    assert wire.take()["RemoveLayerVersionPermission"] == 1
    assert shared(lambda_api, versions) == before == {**empty(range(1, 6)), **everywhere(versions[:2])}


@pytest.mark.parametrize("change", [{"Action": "lambda:GetLayerVersion"}, {"ServiceTimeout": "600"}])
def test_an_update_that_changes_only_the_form_repairs_a_kept_version_someone_emptied(
    lambda_api, versions, new_grant, change
):
    grant = new_grant(versions[0], keep_versions="3")
    grant.create()
    grant.move(versions[1])
    grant.move(versions[2])
    lambda_api.remove_layer_version_permission(
        LayerName=versions[0].rsplit(":", 1)[0], VersionNumber=1, StatementId=STATEMENT_ID
    )
    lambda_api.remove_layer_version_permission(
        LayerName=versions[2].rsplit(":", 1)[0], VersionNumber=3, StatementId=STATEMENT_ID
    )

    replaced, response = grant.update(**change)

    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", replaced[0])
    assert shared(lambda_api, versions[:3]) == everywhere(versions[:3])


@pytest.fixture
def no_endpoint_in(monkeypatch: pytest.MonkeyPatch) -> str:
    """A region whose Lambda endpoint cannot be reached (as for a region that does not exist): connections fail."""
    region = "us-east-7"

    def lambda_api(name: str) -> Any:
        if name != region:
            return entry.lambda_client(name)
        return boto3.client("lambda", region_name=region, endpoint_url="http://127.0.0.1:9")

    monkeypatch.setattr(entry, "CLIENTS", Clients(lambda_api, entry.cloudformation_client))
    return region


def test_a_create_in_a_region_without_an_endpoint_granted_nothing_and_its_rollback_delete_succeeds(
    invoke, receiver, no_endpoint_in
):
    grant = GrantResource(
        invoke,
        receiver,
        grant_properties(f"arn:aws:lambda:{no_endpoint_in}:123456789012:layer:tools:1", RevokeRetainedOnDelete="true"),
    )

    created = grant.send("Create", grant.properties, timeout=10)
    grant.physical_id = created["PhysicalResourceId"]
    deleted = grant.delete(timeout=10)

    assert created["Status"] == "FAILED"
    assert "EndpointConnectionError" in created["Reason"]
    assert created["PhysicalResourceId"] == f"not-granted-{grant.responses[0]['RequestId']}"
    assert (deleted["Status"], deleted["PhysicalResourceId"]) == ("SUCCESS", created["PhysicalResourceId"])


def test_a_delete_whose_id_names_another_version_than_its_properties_touches_nothing(
    invoke, receiver, lambda_api, versions, wire
):
    for version_arn in versions[:2]:
        assert GrantResource(invoke, receiver, grant_properties(version_arn)).create()["Status"] == "SUCCESS"
    wire.take()
    grant = GrantResource(invoke, receiver, grant_properties(versions[0]))
    other_id = f"{versions[1]}#{STATEMENT_ID}#abc"

    response = grant.send("Delete", grant.properties, physical_id=other_id)

    assert response["Status"] == "FAILED"
    assert f"names StatementId '{STATEMENT_ID}' on {versions[1]}" in response["Reason"]
    assert wire.take() == Counter()
    assert shared(lambda_api, versions[:2]) == everywhere(versions[:2])


def test_a_cleanup_delete_after_a_replacement_asks_cloudformation_and_leaves_the_live_grant(
    lambda_api, versions, new_grant, wire
):
    grant = new_grant(versions[0])
    grant.create()
    replaced, _ = grant.update(versions[1])
    wire.take()

    assert grant.cleanup(replaced)["Status"] == "SUCCESS"

    # Every version is kept, so only the versions newer than the live one are read, for a statement left there.
    assert wire.take() == Counter({"DescribeStackResource": 1, "ListLayerVersions": 1, "GetLayerVersionPolicy": 3})
    assert shared(lambda_api, versions[:2]) == everywhere(versions[:2])


def test_a_redelivered_create_adopts_its_own_statement_and_answers_the_same_id(invoke, receiver, lambda_api, versions):
    event = cfn_event("Create", "SharePartner", grant_properties(versions[0]), receiver.url("redelivered"))

    first, again = (invoke(event)[0].body, invoke(event)[-1].body)

    assert (first["Status"], again["Status"]) == ("SUCCESS", "SUCCESS")
    assert first["PhysicalResourceId"].split("#")[:2] == again["PhysicalResourceId"].split("#")[:2]
    assert shared(lambda_api, versions[:1]) == {
        1: {STATEMENT_ID: account_statement(versions[0], STATEMENT_ID, PARTNER)}
    }
