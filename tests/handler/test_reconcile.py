"""Bringing one version's policy to what the ownership model asks, call by call, with Lambda stubbed (Stubber).

Each test queues exactly the calls the contract allows; the `stubbed` fixture fails a test that leaves one unmade,
and Stubber fails a call that was not queued.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from layer_share_handler.exceptions import OperationFailed
from layer_share_handler.ownership import Window
from layer_share_handler.physical_id import LayerVersion
from layer_share_handler.reconcile import (
    ADOPTED,
    ALREADY_ABSENT,
    GRANTED,
    KEPT,
    REMOVED,
    UPDATED,
    Converged,
    Rule,
    converge,
    each_version,
    grant_first,
    revoke_at_revision,
)
from layer_share_handler.statement import GrantStatement

LAYER_ARN = "arn:aws:lambda:eu-west-1:111122223333:layer:tools"
LAYER_VERSION = LayerVersion("aws", "eu-west-1", "111122223333", "tools", 7)
TARGET = GrantStatement("share", "223456789012")
PREVIOUS = GrantStatement("share", "323456789012")  # what the grant granted before its principal changed
ALONE = Window(7, frozenset({7}), frozenset({7}))
GRANT = Rule(TARGET, frozenset({TARGET}), ALONE, prune=False)
REVOKE = Rule.removing(TARGET)
GRANT_EVERYWHERE = Rule(TARGET, frozenset({TARGET}), Window(3, frozenset({1, 2, 3}), frozenset({1, 2, 3})), False)


def statement(account: str, version: int = 7) -> dict[str, Any]:
    """A statement as the API reference's example shows it."""
    return {
        "Sid": "share",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": f"{LAYER_ARN}:{version}",
    }


OURS, EARLIER, FOREIGN = statement("223456789012"), statement("323456789012"), statement("999999999999")


def compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def layer(version: int = 7) -> dict[str, Any]:
    return {"LayerName": LAYER_ARN, "VersionNumber": version}


def policy(stubber: Stubber, *statements: dict[str, Any], revision_id: str = "rev-1", version: int = 7) -> None:
    document = {"Version": "2012-10-17", "Id": "default", "Statement": list(statements)}
    stubber.add_response(
        "get_layer_version_policy", {"Policy": json.dumps(document), "RevisionId": revision_id}, layer(version)
    )


def no_policy(stubber: Stubber, version: int = 7) -> None:
    stubber.add_client_error(
        "get_layer_version_policy", "ResourceNotFoundException", "No policy", 404, expected_params=layer(version)
    )


def added(stubber: Stubber, revision_id: str = "rev-2", version: int = 7, **params: str) -> None:
    stubber.add_response(
        "add_layer_version_permission",
        {"Statement": compact(statement("223456789012", version)), "RevisionId": revision_id},
        {
            **layer(version),
            "StatementId": "share",
            "Action": "lambda:GetLayerVersion",
            "Principal": "223456789012",
            **params,
        },
    )


def taken(stubber: Stubber) -> None:
    message = "The statement id (share) provided already exists. Please provide a new statement id."
    stubber.add_client_error("add_layer_version_permission", "ResourceConflictException", message, 409)


def removed(stubber: Stubber, **params: str) -> None:
    stubber.add_response("remove_layer_version_permission", {}, {**layer(), "StatementId": "share", **params})


def error(stubber: Stubber, operation: str, code: str, status: int, **params: Any) -> None:
    stubber.add_client_error(operation, code, code, status, expected_params=params or None)


# --- grant_first --------------------------------------------------------------------------------------------------


def test_grant_first_adds_without_reading_in_one_call(stubbed, deadline):
    client, stubber = stubbed
    added(stubber, RevisionId="rev-0")

    granted = grant_first(client, LAYER_VERSION, GRANT, "rev-0", deadline)

    assert granted == Converged(GRANTED, compact(OURS), "rev-2")


def test_grant_first_adopts_an_identical_statement_found_under_its_statement_id(stubbed, deadline):
    client, stubber = stubbed
    taken(stubber)
    policy(stubber, OURS, revision_id="rev-9")

    granted = grant_first(client, LAYER_VERSION, GRANT, None, deadline)

    assert granted == Converged(ADOPTED, compact(OURS), "rev-9")


def test_grant_first_refuses_a_foreign_statement_under_its_statement_id_and_names_it(stubbed, deadline):
    client, stubber = stubbed
    taken(stubber)
    policy(stubber, {**OURS, "Sid": "other"}, FOREIGN)

    with pytest.raises(OperationFailed) as failure:
        grant_first(client, LAYER_VERSION, GRANT, None, deadline)

    assert compact(FOREIGN) in str(failure.value)
    assert "left untouched" in str(failure.value) and "choose another statement_id" in str(failure.value)
    assert failure.value.outcome_unknown is False


def test_grant_first_replaces_the_grants_own_previous_content(stubbed, deadline):
    client, stubber = stubbed
    taken(stubber)
    policy(stubber, EARLIER)
    removed(stubber)  # by StatementId: not conditioned on the RevisionId read
    added(stubber, revision_id="rev-3")

    rule = Rule(TARGET, frozenset({TARGET, PREVIOUS}), ALONE, prune=False)
    granted = grant_first(client, LAYER_VERSION, rule, None, deadline)

    assert granted == Converged(UPDATED, compact(OURS), "rev-3")


def test_grant_first_adds_a_statement_removed_between_its_add_and_its_read(stubbed, deadline):
    client, stubber = stubbed
    taken(stubber)
    policy(stubber, {**OURS, "Sid": "other"})
    added(stubber, revision_id="rev-3")

    assert grant_first(client, LAYER_VERSION, GRANT, None, deadline) == Converged(GRANTED, compact(OURS), "rev-3")


# --- converge -----------------------------------------------------------------------------------------------------


def test_converge_with_nothing_to_change_makes_one_read(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, OURS, revision_id="rev-5")

    assert converge(client, LAYER_VERSION, GRANT, deadline) == Converged(KEPT, compact(OURS), "rev-5")


def test_converge_regrants_a_statement_removed_by_hand(stubbed, deadline):
    client, stubber = stubbed
    no_policy(stubber)
    added(stubber)

    assert converge(client, LAYER_VERSION, GRANT, deadline) == Converged(GRANTED, compact(OURS), "rev-2")


def test_converge_replaces_a_changed_principal_in_one_read_and_two_unconditioned_writes(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, EARLIER, revision_id="rev-5")
    removed(stubber)
    added(stubber, revision_id="rev-6")

    rule = Rule(TARGET, frozenset({TARGET, PREVIOUS}), ALONE, prune=True)

    assert converge(client, LAYER_VERSION, rule, deadline) == Converged(UPDATED, compact(OURS), "rev-6")


def test_converge_removes_a_statement_it_owns(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, OURS)
    removed(stubber)

    assert converge(client, LAYER_VERSION, REVOKE, deadline).outcome == REMOVED


@pytest.mark.parametrize(
    "foreign",
    [FOREIGN, {**OURS, "Effect": "Deny"}, {**OURS, "Action": "lambda:*"}],
    ids=["another principal", "a denial", "another action"],
)
def test_converge_never_removes_a_statement_it_does_not_own(stubbed, deadline, foreign):
    client, stubber = stubbed
    policy(stubber, foreign)

    assert converge(client, LAYER_VERSION, REVOKE, deadline).outcome == KEPT


def test_converge_does_not_take_over_a_foreign_statement_where_the_grant_must_be(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, FOREIGN)

    with pytest.raises(OperationFailed, match="999999999999"):
        converge(client, LAYER_VERSION, GRANT, deadline)


def test_converge_of_a_version_that_is_gone_is_already_absent(stubbed, deadline):
    client, stubber = stubbed
    no_policy(stubber)

    assert converge(client, LAYER_VERSION, REVOKE, deadline).outcome == ALREADY_ABSENT


def test_converge_reads_again_when_its_add_finds_the_statement_id_taken(stubbed, deadline, fake_time):
    client, stubber = stubbed
    no_policy(stubber)
    taken(stubber)  # another writer added the same grant in between
    policy(stubber, OURS, revision_id="rev-7")

    assert converge(client, LAYER_VERSION, GRANT, deadline) == Converged(KEPT, compact(OURS), "rev-7")
    assert len(fake_time.sleeps) == 1


def test_converge_reads_again_when_its_replace_finds_the_statement_gone(stubbed, deadline, fake_time):
    client, stubber = stubbed
    policy(stubber, EARLIER)
    error(stubber, "remove_layer_version_permission", "ResourceNotFoundException", 404)
    policy(stubber, {**OURS, "Sid": "other"})  # removed by hand in between: an older version keeps it no more

    every_version_kept = Window(9, frozenset({9}), frozenset({7, 8, 9}))
    rule = Rule(TARGET, frozenset({TARGET, PREVIOUS}), every_version_kept, prune=True)

    assert converge(client, LAYER_VERSION, rule, deadline).outcome == ALREADY_ABSENT
    assert len(fake_time.sleeps) == 1


def test_converge_regrants_after_its_replace_finds_the_statement_gone_where_the_grant_must_be(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, EARLIER)
    error(stubber, "remove_layer_version_permission", "ResourceNotFoundException", 404)
    no_policy(stubber)
    added(stubber, revision_id="rev-3")

    rule = Rule(TARGET, frozenset({TARGET, PREVIOUS}), ALONE, prune=True)

    assert converge(client, LAYER_VERSION, rule, deadline) == Converged(GRANTED, compact(OURS), "rev-3")


# --- revoke_at_revision -------------------------------------------------------------------------------------------


def test_revoke_at_revision_is_one_call_while_the_policy_is_at_that_revision(stubbed, deadline):
    client, stubber = stubbed
    removed(stubber, RevisionId="rev-1")

    assert revoke_at_revision(client, LAYER_VERSION, REVOKE, "rev-1", deadline) == Converged(REMOVED)


def test_revoke_at_revision_of_a_statement_already_gone_is_one_call(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "ResourceNotFoundException", 404)

    assert revoke_at_revision(client, LAYER_VERSION, REVOKE, "rev-1", deadline) == Converged(ALREADY_ABSENT)


def test_revoke_at_revision_reads_after_precondition_failed_and_removes_its_own_statement(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "PreconditionFailedException", 412)
    policy(stubber, OURS, revision_id="rev-4")
    removed(stubber)  # by StatementId, not by the RevisionId just read

    assert revoke_at_revision(client, LAYER_VERSION, REVOKE, "rev-1", deadline) == Converged(REMOVED)


def test_revoke_at_revision_reads_after_precondition_failed_and_keeps_a_foreign_statement(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "PreconditionFailedException", 412)
    policy(stubber, FOREIGN, revision_id="rev-4")

    assert revoke_at_revision(client, LAYER_VERSION, REVOKE, "rev-1", deadline).outcome == KEPT


def test_revoke_at_revision_conditions_only_its_first_remove(stubbed, deadline, fake_time):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "PreconditionFailedException", 412)
    policy(stubber, OURS)
    error(stubber, "remove_layer_version_permission", "ServiceException", 500)
    policy(stubber, OURS)
    removed(stubber)

    assert revoke_at_revision(client, LAYER_VERSION, REVOKE, "rev-1", deadline) == Converged(REMOVED)
    assert len(fake_time.sleeps) == 1


# --- each_version -------------------------------------------------------------------------------------------------


def test_each_version_acts_on_the_versions_in_the_order_given(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, statement("223456789012", 3), revision_id="rev-3", version=3)
    no_policy(stubber, version=2)
    added(stubber, version=2)

    done = each_version(
        LAYER_VERSION, [3, 2], lambda version: converge(client, version, GRANT_EVERYWHERE, deadline), "granting"
    )

    assert {number: converged.outcome for number, converged in done.items()} == {3: KEPT, 2: GRANTED}


def test_each_version_failure_says_which_versions_were_done_and_which_were_not(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, statement("223456789012", 3), version=3)
    no_policy(stubber, version=2)
    stubber.add_client_error("add_layer_version_permission", "InvalidParameterValueException", "bad", 400)

    with pytest.raises(OperationFailed) as failure:
        each_version(
            LAYER_VERSION,
            [3, 2, 1],
            lambda version: converge(client, version, GRANT_EVERYWHERE, deadline),
            "granting the versions keep_versions keeps",
        )

    reason = str(failure.value)
    assert "granting the versions keep_versions keeps stopped at version 2" in reason
    assert "Done: 3: kept." in reason
    assert "Not done: versions 2, 1" in reason
    assert "InvalidParameterValueException" in reason


def test_each_version_failure_keeps_an_unknown_outcome(endless, fake_time):
    client, stubber = endless
    for _ in range(50):  # each attempt reads again, then adds
        no_policy(stubber, version=3)
        stubber.add_client_error("add_layer_version_permission", "ServiceException", "ServiceException", 500)

    with pytest.raises(OperationFailed) as failure:
        each_version(
            LAYER_VERSION,
            [3, 2],
            lambda version: converge(client, version, GRANT_EVERYWHERE, fake_time.budget(2)),
            "granting",
        )

    assert failure.value.outcome_unknown is True
    assert "Done: none" in str(failure.value) and "Not done: versions 3, 2" in str(failure.value)
