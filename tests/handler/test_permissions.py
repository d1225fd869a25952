"""The Lambda and CloudFormation calls, and the retry loop around them, against documented error codes.

moto cannot produce these errors, so each test queues exactly the calls and answers the service would give
(botocore's Stubber); errors that never reach the service (no connection, a read timeout) are raised by a hook
before the stub answers, as botocore raises them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from layer_share_handler.api_calls import (
    Added,
    StackResource,
    VersionPolicy,
    add_statement,
    describe_stack_resource,
    list_versions,
    read_policy,
    remove_statement,
    retrying,
)
from layer_share_handler.budget import Budget
from layer_share_handler.exceptions import Contended, OperationFailed, StatementExists
from layer_share_handler.ownership import Unreadable
from layer_share_handler.physical_id import LayerVersion
from layer_share_handler.statement import GrantStatement

LAYER_ARN = "arn:aws:lambda:eu-west-1:111122223333:layer:tools"
LAYER_VERSION = LayerVersion("aws", "eu-west-1", "111122223333", "tools", 7)
LAYER = {"LayerName": LAYER_ARN, "VersionNumber": 7}
GRANT = GrantStatement("share", "223456789012")
ADD = {**LAYER, "StatementId": "share", "Action": "lambda:GetLayerVersion", "Principal": "223456789012"}
# As the API reference's example shows a layer version policy statement.
OURS = {
    "Sid": "share",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::223456789012:root"},
    "Action": "lambda:GetLayerVersion",
    "Resource": f"{LAYER_ARN}:7",
}
STACK_ID = "arn:aws:cloudformation:eu-west-1:111122223333:stack/shared-layers/5b3a1e60-8c1d-11ef-9d2e-0a1b2c3d4e5f"


def compact(statement: dict[str, Any]) -> str:
    return json.dumps(statement, separators=(",", ":"))


def added(stubber: Stubber, revision_id: str = "rev-1", **params: str) -> None:
    stubber.add_response(
        "add_layer_version_permission", {"Statement": compact(OURS), "RevisionId": revision_id}, {**ADD, **params}
    )


def removed(stubber: Stubber, **params: str) -> None:
    stubber.add_response("remove_layer_version_permission", {}, {**LAYER, "StatementId": "share", **params})


def policy(stubber: Stubber, *statements: dict[str, Any], revision_id: str = "rev-1") -> None:
    document = {"Version": "2012-10-17", "Id": "default", "Statement": list(statements)}
    stubber.add_response("get_layer_version_policy", {"Policy": json.dumps(document), "RevisionId": revision_id}, LAYER)


def error(stubber: Stubber, operation: str, code: str, status: int, message: str = "", **meta: Any) -> None:
    stubber.add_client_error(operation, code, message or code, http_status_code=status, response_meta=meta or None)


def never_answered(client: Any, operation: str, *errors: Exception) -> None:
    """The next calls of `operation` fail with these errors before the stub answers, as botocore raises them."""
    pending = list(errors)

    def fail(**_: Any) -> None:
        if pending:
            raise pending.pop(0)

    client.meta.events.register(f"before-parameter-build.lambda.{operation}", fail)


def granting(client: Any, budget: Budget, revision_id: str | None = None) -> Callable[[], Added]:
    return lambda: add_statement(client, LAYER_VERSION, GRANT, revision_id, budget)


def grant(client: Any, budget: Budget, revision_id: str | None = None) -> Added:
    return retrying(budget, "granting share", granting(client, budget, revision_id))


# --- one call each ------------------------------------------------------------------------------------------------


def test_read_policy_finds_the_grant_under_its_statement_id_in_one_call(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, {**OURS, "Sid": "other"}, OURS, revision_id="rev-4")

    read = read_policy(client, LAYER_VERSION, "share", deadline)

    assert read == VersionPolicy(GRANT, OURS, "rev-4")


def test_read_policy_of_a_version_without_a_policy_holds_nothing(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "get_layer_version_policy", "ResourceNotFoundException", 404, "No policy is associated")

    assert read_policy(client, LAYER_VERSION, "share", deadline) == VersionPolicy(None, None, None)


def test_read_policy_without_the_statement_id_holds_nothing_at_the_policys_revision(stubbed, deadline):
    client, stubber = stubbed
    policy(stubber, {**OURS, "Sid": "other"}, revision_id="rev-4")

    assert read_policy(client, LAYER_VERSION, "share", deadline) == VersionPolicy(None, None, "rev-4")


def test_read_policy_reads_a_statement_that_is_not_a_grant_as_unreadable(stubbed, deadline):
    client, stubber = stubbed
    denial = {**OURS, "Effect": "Deny"}
    policy(stubber, denial)

    read = read_policy(client, LAYER_VERSION, "share", deadline)

    assert read.holding == Unreadable(compact(denial))


def test_add_statement_passes_the_organization_and_the_revision_when_given(stubbed, deadline):
    client, stubber = stubbed
    organization_grant = GrantStatement("share", "*", "o-a1b2c3d4e5")
    added(stubber, Principal="*", OrganizationId="o-a1b2c3d4e5", RevisionId="rev-0")

    result = add_statement(client, LAYER_VERSION, organization_grant, "rev-0", deadline)

    assert result == Added(compact(OURS), "rev-1")


def test_add_statement_on_a_taken_statement_id_raises_statement_exists(stubbed, deadline):
    client, stubber = stubbed
    message = "The statement id (share) provided already exists. Please provide a new statement id."
    error(stubber, "add_layer_version_permission", "ResourceConflictException", 409, message)

    with pytest.raises(StatementExists):
        add_statement(client, LAYER_VERSION, GRANT, None, deadline)


def test_add_statement_meeting_an_update_in_progress_is_contended(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "ResourceConflictException", 409, "An update is in progress")

    with pytest.raises(Contended):
        add_statement(client, LAYER_VERSION, GRANT, None, deadline)


def test_remove_statement_is_conditioned_on_the_revision_when_given(stubbed, deadline):
    client, stubber = stubbed
    removed(stubber, RevisionId="rev-3")

    assert remove_statement(client, LAYER_VERSION, "share", "rev-3", deadline) is True


def test_remove_statement_without_a_revision_names_the_statement_id_only(stubbed, deadline):
    client, stubber = stubbed
    removed(stubber)

    assert remove_statement(client, LAYER_VERSION, "share", None, deadline) is True


@pytest.mark.parametrize(
    "message", ["Statement share is not found in resource policy.", "No policy is associated with the given resource."]
)
def test_remove_statement_that_is_not_there_reports_false(stubbed, deadline, message):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", "ResourceNotFoundException", 404, message)

    assert remove_statement(client, LAYER_VERSION, "share", None, deadline) is False


@pytest.mark.parametrize(("code", "status"), [("PreconditionFailedException", 412), ("ResourceConflictException", 409)])
def test_remove_statement_on_a_policy_that_moved_on_is_contended(stubbed, deadline, code, status):
    client, stubber = stubbed
    error(stubber, "remove_layer_version_permission", code, status)

    with pytest.raises(Contended):
        remove_statement(client, LAYER_VERSION, "share", "rev-3", deadline)


def test_list_versions_follows_every_page_and_returns_them_oldest_first(stubbed, deadline):
    client, stubber = stubbed
    stubber.add_response(
        "list_layer_versions",
        {"LayerVersions": [{"Version": 9}, {"Version": 8}], "NextMarker": "page-2"},
        {"LayerName": LAYER_ARN, "MaxItems": 50},
    )
    stubber.add_response(
        "list_layer_versions",
        {"LayerVersions": [{"Version": 3}]},
        {"LayerName": LAYER_ARN, "MaxItems": 50, "Marker": "page-2"},
    )

    assert list_versions(client, LAYER_VERSION, deadline) == [3, 8, 9]


def test_list_versions_of_a_layer_that_is_gone_is_empty(stubbed, deadline):
    client, stubber = stubbed
    error(stubber, "list_layer_versions", "ResourceNotFoundException", 404)

    assert list_versions(client, LAYER_VERSION, deadline) == []


def test_describe_stack_resource_returns_the_live_id_and_the_parsed_metadata(stubbed_cloudformation, deadline):
    client, stubber = stubbed_cloudformation
    stubber.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "LogicalResourceId": "SharePartner",
                "PhysicalResourceId": f"{LAYER_ARN}:7#share#rev-1",
                "ResourceType": "Custom::LayerVersionPermission",
                "LastUpdatedTimestamp": "2026-12-07T00:00:00Z",
                "ResourceStatus": "UPDATE_COMPLETE",
                "Metadata": json.dumps({"Grant": {"LayerName": LAYER_ARN}}),
            }
        },
        {"StackName": STACK_ID, "LogicalResourceId": "SharePartner"},
    )

    record = describe_stack_resource(client, STACK_ID, "SharePartner", deadline)

    assert record == StackResource(f"{LAYER_ARN}:7#share#rev-1", {"Grant": {"LayerName": LAYER_ARN}})


@pytest.mark.parametrize(
    "message", ["Stack with id shared-layers does not exist", "Resource SharePartner does not exist for stack x"]
)
def test_describe_stack_resource_of_a_stack_or_resource_that_does_not_exist_is_gone(
    stubbed_cloudformation, deadline, message
):
    client, stubber = stubbed_cloudformation
    error(stubber, "describe_stack_resource", "ValidationError", 400, message)

    assert describe_stack_resource(client, STACK_ID, "SharePartner", deadline) == StackResource(None, None)


# --- retrying -----------------------------------------------------------------------------------------------------


def test_a_call_that_succeeds_at_once_does_not_wait(stubbed, deadline, fake_time):
    client, stubber = stubbed
    added(stubber)

    assert grant(client, deadline) == Added(compact(OURS), "rev-1")
    assert fake_time.sleeps == []


@pytest.mark.parametrize("throttles", [1, 3])
def test_throttling_is_retried_with_a_growing_jittered_backoff(stubbed, deadline, fake_time, throttles):
    client, stubber = stubbed
    for _ in range(throttles):
        error(stubber, "add_layer_version_permission", "TooManyRequestsException", 429, "Rate exceeded")
    added(stubber)

    assert grant(client, deadline).revision_id == "rev-1"
    assert len(fake_time.sleeps) == throttles
    assert all(0 <= sleep <= 0.1 * 2**attempt for attempt, sleep in enumerate(fake_time.sleeps, start=1))


def test_throttled_until_the_deadline_fails_as_throttled_and_as_refused(endless, fake_time):
    client, stubber = endless
    for _ in range(200):
        error(stubber, "add_layer_version_permission", "TooManyRequestsException", 429, "Rate exceeded")

    with pytest.raises(OperationFailed) as failure:
        grant(client, fake_time.budget(3))

    assert "throttled by Lambda" in str(failure.value)
    assert "before the response to CloudFormation must go" in str(failure.value)
    assert failure.value.outcome_unknown is False  # a 429 means Lambda refused the request
    assert fake_time.now < 3


def test_throttling_is_retried_no_sooner_than_retry_after_asks(stubbed, deadline, fake_time):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "TooManyRequestsException", 429, HTTPHeaders={"retry-after": "1.5"})
    added(stubber)

    assert grant(client, deadline).revision_id == "rev-1"
    assert fake_time.sleeps == [1.5]


def test_a_retry_after_longer_than_the_time_left_fails_at_once(stubbed, fake_time):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "TooManyRequestsException", 429, HTTPHeaders={"retry-after": "10"})

    with pytest.raises(OperationFailed, match="retry after 10 s") as failure:
        grant(client, fake_time.budget(5))

    assert failure.value.outcome_unknown is False
    assert fake_time.sleeps == []


def test_access_denied_is_retried_while_iam_applies_the_new_policy(stubbed, deadline, fake_time):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "AccessDeniedException", 403)
    error(stubber, "add_layer_version_permission", "AccessDeniedException", 403)
    added(stubber)

    assert grant(client, deadline).revision_id == "rev-1"
    assert len(fake_time.sleeps) == 2


def test_access_denied_until_the_deadline_fails_with_a_hint_and_as_refused(endless, fake_time):
    client, stubber = endless
    for _ in range(100):
        error(stubber, "add_layer_version_permission", "AccessDeniedException", 403)

    with pytest.raises(OperationFailed) as failure:
        grant(client, fake_time.budget(2))

    assert "AccessDeniedException" in str(failure.value) and "not allowed" in str(failure.value)
    assert failure.value.outcome_unknown is False


def test_a_service_exception_is_retried(stubbed, deadline, fake_time):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "ServiceException", 500)
    added(stubber)

    assert grant(client, deadline).revision_id == "rev-1"
    assert len(fake_time.sleeps) == 1


def test_a_service_exception_until_the_deadline_leaves_the_outcome_unknown(endless, fake_time):
    client, stubber = endless
    for _ in range(100):
        error(stubber, "add_layer_version_permission", "ServiceException", 500)

    with pytest.raises(OperationFailed) as failure:
        grant(client, fake_time.budget(1.6))

    assert failure.value.outcome_unknown is True  # a 5xx may come after the change was made
    assert "ServiceException" in str(failure.value)


def test_an_unknown_outcome_stays_unknown_when_later_attempts_are_refused(endless, fake_time):
    client, stubber = endless
    error(stubber, "add_layer_version_permission", "ServiceException", 500)
    for _ in range(100):
        error(stubber, "add_layer_version_permission", "TooManyRequestsException", 429)

    with pytest.raises(OperationFailed) as failure:
        grant(client, fake_time.budget(2))

    assert failure.value.outcome_unknown is True


@pytest.mark.parametrize(
    ("code", "status", "hint"),
    [
        ("PolicyLengthExceededException", 400, "policy is full"),
        ("ResourceNotFoundException", 404, "does not exist"),
        ("InvalidParameterValueException", 400, "rejected a parameter"),
        ("PreconditionFailedException", 412, "RevisionId"),
    ],
)
def test_definitive_errors_fail_at_once_with_a_hint(stubbed, deadline, fake_time, code, status, hint):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", code, status, RevisionId="rev-0")

    with pytest.raises(OperationFailed) as failure:
        grant(client, deadline)

    assert code in str(failure.value) and hint in str(failure.value)
    assert failure.value.outcome_unknown is False
    assert fake_time.sleeps == []


def test_a_contended_attempt_is_tried_again(stubbed, deadline, fake_time):
    client, stubber = stubbed
    error(stubber, "add_layer_version_permission", "ResourceConflictException", 409, "An update is in progress")
    added(stubber)

    assert grant(client, deadline).revision_id == "rev-1"
    assert len(fake_time.sleeps) == 1


def test_no_call_starts_after_the_deadline_even_within_one_attempt(stubbed, fake_time):
    client, stubber = stubbed
    budget = fake_time.budget(5)
    policy(stubber, OURS, revision_id="rev-5")
    removed(stubber)

    def slow_lambda(**_: Any) -> None:
        fake_time.now += 3  # every answer takes 3 s

    client.meta.events.register("before-parameter-build.lambda", slow_lambda)

    def read_remove_add() -> Added:
        read_policy(client, LAYER_VERSION, "share", budget)
        remove_statement(client, LAYER_VERSION, "share", None, budget)
        return add_statement(client, LAYER_VERSION, GRANT, None, budget)

    with pytest.raises(OperationFailed, match="ran out of time in attempt 1"):
        retrying(budget, "replacing share", read_remove_add)
    assert fake_time.now == 6  # the read and the remove started in time; the add could not have finished


@pytest.mark.parametrize(
    "never_sent",
    [
        EndpointConnectionError(endpoint_url="https://lambda.eu-west-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com"),
    ],
    ids=["EndpointConnectionError", "ConnectTimeoutError"],
)
def test_a_request_that_never_left_is_retried_and_is_not_an_unknown_outcome(endless, fake_time, never_sent):
    client, stubber = endless
    added(stubber)
    never_answered(client, "AddLayerVersionPermission", *[never_sent] * 100)

    with pytest.raises(OperationFailed) as failure:
        grant(client, fake_time.budget(2))

    assert type(never_sent).__name__ in str(failure.value)
    assert failure.value.outcome_unknown is False
    assert len(fake_time.sleeps) >= 1


def test_a_request_that_never_left_once_then_succeeds(stubbed, deadline, fake_time):
    client, stubber = stubbed
    added(stubber)
    never_answered(client, "AddLayerVersionPermission", EndpointConnectionError(endpoint_url="https://lambda.example"))

    assert grant(client, deadline).revision_id == "rev-1"
    assert len(fake_time.sleeps) == 1


@pytest.mark.parametrize(
    "unanswered",
    [
        ReadTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://lambda.eu-west-1.amazonaws.com"),
    ],
    ids=["ReadTimeoutError", "ConnectionClosedError"],
)
def test_a_request_sent_but_never_answered_leaves_the_outcome_unknown(endless, fake_time, unanswered):
    client, stubber = endless
    added(stubber)
    never_answered(client, "AddLayerVersionPermission", *[unanswered] * 100)

    with pytest.raises(OperationFailed) as failure:
        grant(client, fake_time.budget(2))

    assert type(unanswered).__name__ in str(failure.value)
    assert failure.value.outcome_unknown is True


def test_reading_the_stack_record_retries_access_denied_and_fails_at_once_on_another_error(
    stubbed_cloudformation, deadline, fake_time
):
    client, stubber = stubbed_cloudformation
    error(stubber, "describe_stack_resource", "AccessDenied", 403)
    error(stubber, "describe_stack_resource", "ValidationError", 400, "1 validation error detected")

    with pytest.raises(OperationFailed, match="ValidationError") as failure:
        retrying(deadline, "asking", lambda: describe_stack_resource(client, STACK_ID, "SharePartner", deadline))

    assert failure.value.outcome_unknown is False
    assert len(fake_time.sleeps) == 1  # the AccessDenied while IAM applies the role's policy was retried


def test_a_stack_record_denied_until_the_deadline_fails_saying_the_role_may_not_read_it(
    endless_cloudformation, fake_time
):
    client, stubber = endless_cloudformation
    budget = fake_time.budget(2)
    for _ in range(50):
        error(stubber, "describe_stack_resource", "AccessDenied", 403)

    with pytest.raises(OperationFailed, match="not allowed to read this stack's record"):
        retrying(budget, "asking", lambda: describe_stack_resource(client, STACK_ID, "SharePartner", budget))
