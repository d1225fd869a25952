"""The permission logic against every documented Lambda error code, with botocore's Stubber.

moto cannot produce these errors, so each test queues exactly the calls and answers Lambda would give.
"""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from layer_share_handler.permissions import (
    OperationFailed,
    grant,
    kept,
    replace_statement,
    revoke,
    revoke_if_ours,
    update_in_place,
)
from layer_share_handler.physical_id import parse_layer_version_arn, parse_physical_id
from layer_share_handler.rules import PermissionRequest

LAYER_VERSION = parse_layer_version_arn("arn:aws:lambda:eu-west-1:111122223333:layer:tools:7")
LAYER = {"LayerName": "arn:aws:lambda:eu-west-1:111122223333:layer:tools", "VersionNumber": 7}
REQUEST = PermissionRequest(
    layer_name=LAYER["LayerName"], version_number=7, statement_id="share", principal="223456789012"
)
ADD = {**LAYER, "StatementId": "share", "Action": "lambda:GetLayerVersion", "Principal": "223456789012"}
OURS = {
    "Sid": "share",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::223456789012:root"},
    "Action": "lambda:GetLayerVersion",
    "Resource": LAYER_VERSION.arn,
}
FOREIGN = {**OURS, "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}
GRANT_ID = parse_physical_id(f"{LAYER_VERSION.arn}#share#rev-1")


def added(stubber: Stubber, revision_id: str = "rev-1", statement: dict = OURS, **params) -> None:
    stubber.add_response(
        "add_layer_version_permission",
        {"Statement": json.dumps(statement), "RevisionId": revision_id},
        {**ADD, **params},
    )


def policy(stubber: Stubber, *statements: dict, revision_id: str = "rev-1") -> None:
    document = {"Version": "2012-10-17", "Id": "default", "Statement": list(statements)}
    stubber.add_response("get_layer_version_policy", {"Policy": json.dumps(document), "RevisionId": revision_id}, LAYER)


def error(stubber: Stubber, operation: str, code: str, status: int, message: str = "") -> None:
    stubber.add_client_error(operation, code, message or code, http_status_code=status)


def test_grant_makes_one_call_when_there_is_no_conflict(stubbed, deadline, fake_time):
    client, stubber = stubbed
    added(stubber)

    granted = grant(client, REQUEST, LAYER_VERSION, deadline)

    assert granted.data == {
        "Statement": json.dumps(OURS),
        "RevisionId": "rev-1",
        "StatementId": "share",
        "LayerVersionArn": LAYER_VERSION.arn,
    }
    assert fake_time.sleeps == []


def test_grant_passes_organization_and_revision_when_given(stubbed, deadline):
    client, stubber = stubbed
    request = PermissionRequest(
        **{**REQUEST.__dict__, "principal": "*", "organization_id": "o-a1b2c3d4e5", "revision_id": "rev-0"}
    )
    added(stubber, Principal="*", OrganizationId="o-a1b2c3d4e5", RevisionId="rev-0")

    assert grant(client, request, LAYER_VERSION, deadline).revision_id == "rev-1"


@pytest.mark.parametrize("throttles", [1, 3])
def test_grant_retries_throttling_with_backoff(stubbed, deadline, fake_time, throttles):
    client, stubber = stubbed
    for _ in range(throttles):
        error(stubber, "add_layer_version_permission", "TooManyRequestsException", 429, "Rate exceeded")
    added(stubber)

    assert grant(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-1"
    assert len(fake_time.sleeps) == throttles


def test_grant_throttled_until_the_deadline_fails_as_throttled_and_not_granted(endless, fake_time):
    client, stubber = endless
    deadline = fake_time.budget(3)
    for _ in range(200):
        error(stubber, "add_layer_version_permission", "TooManyRequestsException", 429, "Rate exceeded")

    with pytest.raises(OperationFailed) as failure:
        grant(client, REQUEST, LAYER_VERSION, deadline)

    assert "throttled" in str(failure.value) and "before the response to CloudFormation must go" in str(failure.value)
    assert failure.value.outcome_unknown is False  # 429 means Lambda refused the request
    assert fake_time.now < 3


def test_grant_retries_service_exception_and_marks_the_outcome_unknown_if_it_never_recovers(endless, fake_time):
    client, stubber = endless
    deadline = fake_time.budget(1.6)
    for _ in range(100):
        error(stubber, "add_layer_version_permission", "ServiceException", 500)

    with pytest.raises(OperationFailed) as failure:
        grant(client, REQUEST, LAYER_VERSION, deadline)

    assert failure.value.outcome_unknown is True
    assert "ServiceException" in str(failure.value)


def test_grant_adopts_an_identical_statement_after_resource_conflict(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "ResourceConflictException", 409, "The statement id (share) exists")
    policy(stubber, OURS, revision_id="rev-9")

    granted = grant(client, REQUEST, LAYER_VERSION, deadline)

    assert granted.revision_id == "rev-9"
    assert json.loads(granted.statement) == OURS


def test_grant_refuses_to_take_over_a_different_statement(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "ResourceConflictException", 409)
    policy(stubber, FOREIGN)

    with pytest.raises(OperationFailed) as failure:
        grant(client, REQUEST, LAYER_VERSION, deadline)

    assert "999999999999" in str(failure.value) and "left untouched" in str(failure.value)
    assert failure.value.outcome_unknown is False


def test_grant_retries_a_conflict_that_was_an_operation_in_progress(stubbed, deadline, fake_time):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "ResourceConflictException", 409, "An update is in progress")
    policy(stubber)
    added(stubber)

    assert grant(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-1"
    assert len(fake_time.sleeps) == 1


@pytest.mark.parametrize(
    ("code", "status", "hint"),
    [
        ("PolicyLengthExceededException", 400, "policy is full"),
        ("ResourceNotFoundException", 404, "does not exist"),
        ("InvalidParameterValueException", 400, "rejected a parameter"),
        ("PreconditionFailedException", 412, "RevisionId"),
    ],
)
def test_grant_fails_at_once_on_definitive_errors_with_a_hint(stubbed, deadline, fake_time, code, status, hint):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", code, status)

    with pytest.raises(OperationFailed) as failure:
        grant(client, REQUEST, LAYER_VERSION, deadline)

    assert code in str(failure.value) and hint in str(failure.value)
    assert failure.value.outcome_unknown is False
    assert fake_time.sleeps == []


def test_update_in_place_replaces_a_changed_statement(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, FOREIGN, revision_id="rev-5")
    stubber.add_response(
        "remove_layer_version_permission", {}, {**LAYER, "StatementId": "share", "RevisionId": "rev-5"}
    )
    added(stubber, revision_id="rev-6")

    assert update_in_place(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-6"


def test_update_in_place_with_nothing_to_change_makes_one_read(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, OURS, revision_id="rev-5")

    assert update_in_place(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-5"


def test_update_in_place_rereads_after_precondition_failed(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, FOREIGN, revision_id="rev-5")
    error(stubber, "remove_layer_version_permission", "PreconditionFailedException", 412)
    policy(stubber, FOREIGN, revision_id="rev-6")
    stubber.add_response(
        "remove_layer_version_permission", {}, {**LAYER, "StatementId": "share", "RevisionId": "rev-6"}
    )
    added(stubber, revision_id="rev-7")

    assert update_in_place(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-7"


def test_update_in_place_regrants_when_there_is_no_policy(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "get_layer_version_policy", "ResourceNotFoundException", 404)
    added(stubber)

    assert update_in_place(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-1"


def removed(stubber: Stubber, **params: str) -> None:
    stubber.add_response("remove_layer_version_permission", {}, {**LAYER, "StatementId": "share", **params})


def test_revoke_of_a_known_grant_removes_it_by_statement_id_in_one_call(stubbed, deadline):
    client, stubber = stubbed
    removed(stubber)

    assert revoke(client, GRANT_ID, deadline) == "removed"


@pytest.mark.parametrize(
    "message", ["Statement share is not found in resource policy.", "No policy is associated with the given resource."]
)
def test_revoke_of_a_statement_that_is_not_there_reports_it_already_absent(stubbed, deadline, message):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "ResourceNotFoundException", 404, message)

    assert revoke(client, GRANT_ID, deadline) == "already absent"


def test_revoke_retries_a_remove_that_met_an_operation_in_progress(stubbed, deadline, fake_time):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "ResourceConflictException", 409, "An update is in progress")
    removed(stubber)

    assert revoke(client, GRANT_ID, deadline) == "removed"
    assert len(fake_time.sleeps) == 1


def test_revoke_if_ours_reads_then_removes_with_the_current_revision(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, OURS, revision_id="rev-3")
    removed(stubber, RevisionId="rev-3")

    assert revoke_if_ours(client, GRANT_ID, REQUEST, deadline) == "removed"


def test_revoke_if_ours_rereads_after_precondition_failed(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, OURS, revision_id="rev-3")
    error(stubber, "remove_layer_version_permission", "PreconditionFailedException", 412)
    policy(stubber, OURS, revision_id="rev-4")
    removed(stubber, RevisionId="rev-4")

    assert revoke_if_ours(client, GRANT_ID, REQUEST, deadline) == "removed"


def test_revoke_if_ours_of_a_layer_version_that_is_gone_succeeds(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "get_layer_version_policy", "ResourceNotFoundException", 404)

    assert revoke_if_ours(client, GRANT_ID, REQUEST, deadline) == "already absent"


def test_revoke_if_ours_racing_another_remover_succeeds(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, OURS)
    error(stubber, "remove_layer_version_permission", "ResourceNotFoundException", 404)

    assert revoke_if_ours(client, GRANT_ID, REQUEST, deadline) == "already absent"


def test_replace_statement_removes_and_adds_without_reading(stubbed, deadline):
    client, stubber = stubbed
    removed(stubber)
    added(stubber, revision_id="rev-6")

    replaced = replace_statement(client, REQUEST, LAYER_VERSION, deadline)

    assert (replaced.revision_id, replaced.outcome) == ("rev-6", "updated")


def test_replace_statement_adds_a_statement_that_went_missing(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "ResourceNotFoundException", 404)
    added(stubber, revision_id="rev-6")

    assert replace_statement(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-6"


def test_kept_reports_the_statement_as_lambda_returns_it_without_a_call():
    granted = kept(LAYER_VERSION, REQUEST, "rev-2")

    assert granted.outcome == "kept"
    assert granted.data == {
        "Statement": json.dumps(OURS, separators=(",", ":")),
        "RevisionId": "rev-2",
        "StatementId": "share",
        "LayerVersionArn": LAYER_VERSION.arn,
    }


def test_grant_waits_as_long_as_retry_after_asks(stubbed, deadline, fake_time):
    client, stubber = stubbed
    stubber.add_client_error(
        "add_layer_version_permission",
        "TooManyRequestsException",
        "Rate exceeded",
        http_status_code=429,
        response_meta={"HTTPHeaders": {"retry-after": "1.5"}},
    )
    added(stubber)

    assert grant(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-1"
    assert fake_time.sleeps == [1.5]


def test_grant_fails_at_once_when_retry_after_is_longer_than_the_time_left(stubbed, fake_time):
    client, stubber = stubbed
    stubber.add_client_error(
        "add_layer_version_permission",
        "TooManyRequestsException",
        "Rate exceeded",
        http_status_code=429,
        response_meta={"HTTPHeaders": {"retry-after": "10"}},
    )

    with pytest.raises(OperationFailed, match="retry after 10 s") as failure:
        grant(client, REQUEST, LAYER_VERSION, fake_time.budget(5))

    assert failure.value.outcome_unknown is False
    assert fake_time.sleeps == []


def test_grant_retries_access_denied_while_iam_applies_the_new_policy(stubbed, deadline, fake_time):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "AccessDeniedException", 403)
    error(stubber, "add_layer_version_permission", "AccessDeniedException", 403)
    added(stubber)

    assert grant(client, REQUEST, LAYER_VERSION, deadline).revision_id == "rev-1"
    assert len(fake_time.sleeps) == 2


def test_grant_denied_until_the_deadline_fails_as_not_granted_with_a_hint(endless, fake_time):
    client, stubber = endless
    deadline = fake_time.budget(2)
    for _ in range(100):
        error(stubber, "add_layer_version_permission", "AccessDeniedException", 403)

    with pytest.raises(OperationFailed) as failure:
        grant(client, REQUEST, LAYER_VERSION, deadline)

    assert "AccessDeniedException" in str(failure.value) and "not allowed" in str(failure.value)
    assert failure.value.outcome_unknown is False


def test_revoke_denied_until_the_deadline_is_reported_as_failed(endless, fake_time):
    client, stubber = endless
    deadline = fake_time.budget(2)
    for _ in range(100):
        error(stubber, "remove_layer_version_permission", "AccessDeniedException", 403)

    with pytest.raises(OperationFailed, match="AccessDeniedException"):
        revoke(client, GRANT_ID, deadline)


def test_revoke_that_lambda_rejects_is_reported_as_failed(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "InvalidParameterValueException", 400)

    with pytest.raises(OperationFailed, match="InvalidParameterValueException"):
        revoke(client, GRANT_ID, deadline)


def test_revoke_throttled_until_the_deadline_is_reported_as_failed(endless, fake_time):
    client, stubber = endless
    deadline = fake_time.budget(2)
    for _ in range(100):
        error(stubber, "remove_layer_version_permission", "TooManyRequestsException", 429)

    with pytest.raises(OperationFailed, match="throttled"):
        revoke(client, GRANT_ID, deadline)
    assert fake_time.now < 2


def test_revoke_if_ours_keeps_a_foreign_statement(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, FOREIGN)

    assert revoke_if_ours(client, GRANT_ID, REQUEST, deadline) == "kept"


def test_no_call_starts_after_the_deadline_even_within_one_attempt(stubbed, fake_time):
    client, stubber = stubbed
    deadline = fake_time.budget(5)
    policy(stubber, FOREIGN, revision_id="rev-5")
    stubber.add_response(
        "remove_layer_version_permission", {}, {**LAYER, "StatementId": "share", "RevisionId": "rev-5"}
    )

    def slow_lambda(**_):
        fake_time.now += 3  # every answer takes 3 s

    client.meta.events.register("before-parameter-build.lambda", slow_lambda)

    with pytest.raises(OperationFailed, match="ran out of time in attempt 1"):
        update_in_place(client, REQUEST, LAYER_VERSION, deadline)
    assert fake_time.now == 6  # the read and the remove started in time; the add could not have finished
