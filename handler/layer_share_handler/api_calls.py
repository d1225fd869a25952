"""The Lambda and CloudFormation calls the handler makes, one function each, and the retry loop around them.

Every write is idempotent or conditioned on the policy's RevisionId, so a retry after a timeout or a conflict
converges instead of duplicating or overwriting a statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .budget import Budget
from .exceptions import Contended, OperationFailed, OutOfTime, StatementExists
from .ownership import Holding, Unreadable
from .physical_id import LayerVersion
from .statement import GrantStatement

if TYPE_CHECKING:
    from types_boto3_cloudformation.client import CloudFormationClient
    from types_boto3_lambda.client import LambdaClient

T = TypeVar("T")

# Throttling is worth another try, and means the request was refused; after a 5xx or a broken connection
# the change may or may not have been made.
_THROTTLED = ("TooManyRequestsException", "Throttling")
# The handler's IAM policy is created in the same deployment as the first grant, and IAM takes a few
# seconds to apply it: an early AccessDenied is retried too. Like 429, it means nothing was changed.
_REFUSED = (*_THROTTLED, "AccessDeniedException", "AccessDenied")
# The request never left the function: no endpoint (a region Lambda does not serve), or no connection made.
_NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError)
_NETWORK_ERRORS = (BotoConnectionError, HTTPClientError)

_HINTS = {
    "PolicyLengthExceededException": "the layer version's permissions policy is full; remove statements that are "
    "no longer needed, or share with an organization instead of many single accounts",
    "ResourceNotFoundException": "the layer version does not exist; check LayerName and VersionNumber",
    "InvalidParameterValueException": "Lambda rejected a parameter; check the properties against the "
    "AddLayerVersionPermission reference",
    "AccessDeniedException": "the handler's role is not allowed to do this on this layer version",
    "AccessDenied": "the handler's role is not allowed to read this stack's record",
    "PreconditionFailedException": "the layer version's policy changed since the RevisionId given; "
    "read the current RevisionId or leave RevisionId unset",
}


@dataclass(frozen=True)
class VersionPolicy:
    """What one layer version's policy holds under a StatementId, and the policy's RevisionId (None: no policy)."""

    holding: Holding
    statement: dict[str, Any] | None
    revision_id: str | None


@dataclass(frozen=True)
class Added:
    """A statement Lambda added: as it stored it (compact JSON), and the policy's RevisionId after."""

    statement: str
    revision_id: str


def read_policy(client: LambdaClient, layer_version: LayerVersion, statement_id: str, budget: Budget) -> VersionPolicy:
    """The statement under `statement_id` on this version, read as the ownership model reads it: one call."""
    budget.start_call()
    try:
        response = client.get_layer_version_policy(
            LayerName=layer_version.layer_arn, VersionNumber=layer_version.version
        )
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":  # no policy, or no such version: nothing is held
            return VersionPolicy(None, None, None)
        raise
    statements = json.loads(response["Policy"]).get("Statement", [])
    found = next((s for s in statements if isinstance(s, dict) and s.get("Sid") == statement_id), None)
    if found is None:
        return VersionPolicy(None, None, response["RevisionId"])
    grant = GrantStatement.from_policy(found)
    holding: Holding = grant if grant is not None else Unreadable(compact(found))
    return VersionPolicy(holding, found, response["RevisionId"])


def add_statement(
    client: LambdaClient, layer_version: LayerVersion, grant: GrantStatement, revision_id: str | None, budget: Budget
) -> Added:
    """Add the grant's statement: one call. StatementExists when the StatementId is taken."""
    optional = {"OrganizationId": grant.organization_id, "RevisionId": revision_id}
    budget.start_call()
    try:
        response = client.add_layer_version_permission(
            LayerName=layer_version.layer_arn,
            VersionNumber=layer_version.version,
            StatementId=grant.statement_id,
            Action=grant.action,
            Principal=grant.principal,
            **{name: value for name, value in optional.items() if value is not None},
        )
    except ClientError as error:
        if _code(error) == "ResourceConflictException" and "already exists" in _message(error):
            raise StatementExists() from error
        if _code(error) == "ResourceConflictException":
            raise Contended(f"ResourceConflictException: {_message(error)}") from error
        raise
    return Added(response["Statement"], response["RevisionId"])


def remove_statement(
    client: LambdaClient, layer_version: LayerVersion, statement_id: str, revision_id: str | None, budget: Budget
) -> bool:
    """Remove one statement, only if the policy is still at `revision_id`: one call. False when it is not there.

    A changed policy (412) raises Contended, so that the caller reads again and decides again.
    """
    budget.start_call()
    try:
        client.remove_layer_version_permission(
            LayerName=layer_version.layer_arn,
            VersionNumber=layer_version.version,
            StatementId=statement_id,
            **({"RevisionId": revision_id} if revision_id else {}),
        )
    except ClientError as error:
        code = _code(error)
        if code in ("PreconditionFailedException", "ResourceConflictException"):
            raise Contended(f"{code}: the policy changed while removing {statement_id}") from error
        if code == "ResourceNotFoundException":  # no such statement, policy or layer version
            return False
        raise
    return True


def list_versions(client: LambdaClient, layer_version: LayerVersion, budget: Budget) -> list[int]:
    """The numbers of the layer's versions that still exist, oldest first: one call per page of 50."""
    numbers: list[int] = []
    marker = ""
    while True:
        budget.start_call()
        try:
            page = (
                client.list_layer_versions(LayerName=layer_version.layer_arn, MaxItems=50, Marker=marker)
                if marker
                else client.list_layer_versions(LayerName=layer_version.layer_arn, MaxItems=50)
            )
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return []
            raise
        numbers += [version["Version"] for version in page.get("LayerVersions", [])]
        if not page.get("NextMarker"):
            return sorted(numbers)
        marker = page["NextMarker"]


@dataclass(frozen=True)
class StackResource:
    """CloudFormation's record of the event's resource: its live PhysicalResourceId and Metadata; None for both
    when the resource, or its stack, no longer exists."""

    physical_id: str | None
    metadata: Any


def describe_stack_resource(
    client: CloudFormationClient, stack_id: str, logical_id: str, budget: Budget
) -> StackResource:
    """DescribeStackResource by the stack's ARN, which also reads a stack being deleted: one call."""
    budget.start_call()
    try:
        detail = client.describe_stack_resource(StackName=stack_id, LogicalResourceId=logical_id)["StackResourceDetail"]
    except ClientError as error:
        if _code(error) == "ValidationError" and "does not exist" in _message(error):
            return StackResource(None, None)
        raise
    metadata = detail.get("Metadata")
    try:
        parsed = json.loads(metadata) if metadata else None
    except ValueError:
        parsed = None
    return StackResource(detail.get("PhysicalResourceId"), parsed)


def retrying(budget: Budget, what: str, attempt: Callable[[], T]) -> T:
    """Run `attempt` until it succeeds, fails for good, or the budget leaves no room for another try."""
    outcome_unknown = False
    last_error = "none"
    tries = 0
    while True:
        tries += 1
        retry_after = None
        try:
            return attempt()
        except OutOfTime:
            raise OperationFailed(
                f"{what} ran out of time in attempt {tries}: no further call could finish before the "
                f"response to CloudFormation must go; last error: {last_error}",
                outcome_unknown,
            ) from None
        except Contended as error:
            last_error = str(error)
        except ClientError as error:
            if not _transient(error):
                raise OperationFailed(f"{what} failed: {_describe(error)}", outcome_unknown) from error
            outcome_unknown = outcome_unknown or _code(error) not in _REFUSED
            retry_after = _retry_after(error)
            last_error = _describe(error) + (f"; asked to retry after {retry_after:g} s" if retry_after else "")
        except _NEVER_SENT as error:
            last_error = f"{type(error).__name__}: {error}"
        except _NETWORK_ERRORS as error:
            outcome_unknown = True
            last_error = f"{type(error).__name__}: {error}"
        if not budget.wait_before_retry(tries, retry_after):
            raise OperationFailed(
                f"{what} did not succeed in {tries} attempts before the response to CloudFormation must go; "
                f"last error: {last_error}",
                outcome_unknown,
            )


def compact(statement: dict[str, Any]) -> str:
    """A statement as Lambda returns it in AddLayerVersionPermission's Statement: compact JSON."""
    return json.dumps(statement, separators=(",", ":"))


def _retry_after(error: ClientError) -> float | None:
    """The Retry-After header on a 429, in seconds."""
    value = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _message(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Message", "")


def _transient(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return _code(error) in (*_REFUSED, "ServiceException") or status >= 500


def _describe(error: ClientError) -> str:
    code = _code(error)
    if code in _THROTTLED:
        service = "Lambda" if code == "TooManyRequestsException" else "CloudFormation"
        return f"throttled by {service} ({code}: {_message(error)})"
    hint = _HINTS.get(code)
    return f"{code}: {_message(error)}" + (f" ({hint})" if hint else "")
