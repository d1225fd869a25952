"""Grant, update and revoke one layer version permission: plain functions over a boto3 Lambda client.

Every operation is idempotent per attempt, so a retry after a timeout or a conflict re-reads the
policy and converges instead of duplicating or overwriting a statement.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .physical_id import GrantId, LayerVersion
from .rules import PermissionRequest
from .statement import GrantStatement

if TYPE_CHECKING:
    from types_boto3_lambda.client import LambdaClient

T = TypeVar("T")

# Throttling and server faults are worth another try; HTTP 429 means the request was refused,
# whereas after a 5xx or a broken connection the change may or may not have been made.
_THROTTLED = "TooManyRequestsException"
# The handler's IAM policy is created in the same deployment as the first grant, and IAM takes a few
# seconds to apply it: an early AccessDenied is retried too. Like 429, it means nothing was changed.
_REFUSED = (_THROTTLED, "AccessDeniedException")
_NETWORK_ERRORS = (BotoConnectionError, HTTPClientError)
_FIRST_BACKOFF = 0.1  # seconds
_MAX_BACKOFF = 2.0  # seconds

_HINTS = {
    "PolicyLengthExceededException": "the layer version's permissions policy is full; remove statements that are "
    "no longer needed, or share with an organization instead of many single accounts",
    "ResourceNotFoundException": "the layer version does not exist; check LayerName and VersionNumber",
    "InvalidParameterValueException": "Lambda rejected a parameter; check the properties against the "
    "AddLayerVersionPermission reference",
    "AccessDeniedException": "the handler's role is not allowed to do this on this layer version",
    "PreconditionFailedException": "the layer version's policy changed since the RevisionId given; "
    "read the current RevisionId or leave RevisionId unset",
}


class OperationFailed(Exception):
    """The operation did not complete. `outcome_unknown` means a change may still have been made."""

    def __init__(self, reason: str, outcome_unknown: bool = False) -> None:
        super().__init__(reason)
        self.outcome_unknown = outcome_unknown


class _Contended(Exception):
    """Another writer got in the way (operation in progress, or the policy moved on); try again."""


class _OutOfTime(Exception):
    """The deadline passed in the middle of an attempt: no further call may start."""


@dataclass(frozen=True)
class Granted:
    """A statement that is in place, with the policy revision after the operation."""

    layer_version: LayerVersion
    statement_id: str
    revision_id: str
    statement: str

    @property
    def data(self) -> dict[str, str]:
        """The attributes that Fn::GetAtt exposes."""
        return {
            "Statement": self.statement,
            "RevisionId": self.revision_id,
            "StatementId": self.statement_id,
            "LayerVersionArn": self.layer_version.arn,
        }


class Deadline:
    """The latest moment an API call may start; retries back off with full jitter until then.

    The first call always starts: an invocation that may not make a single call can only fail.
    """

    def __init__(
        self,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._end = clock() + seconds
        self._calls_started = 0

    def start_call(self) -> None:
        """Account for one API call, or raise _OutOfTime when it could not finish before the handler must answer."""
        if self._calls_started and self._clock() >= self._end:
            raise _OutOfTime()
        self._calls_started += 1

    def wait_before_retry(self, attempt: int) -> bool:
        """Sleep before attempt `attempt + 1`; False when that attempt could not start in time."""
        delay = random.uniform(0, min(_MAX_BACKOFF, _FIRST_BACKOFF * 2**attempt))
        if self._clock() + delay >= self._end:
            return False
        self._sleep(delay)
        return True


def grant(client: LambdaClient, request: PermissionRequest, layer_version: LayerVersion, deadline: Deadline) -> Granted:
    """Add the statement, or adopt an identical one that is already there (a repeated Create)."""
    return _retrying(
        deadline,
        f"granting {request.statement_id} on {layer_version.arn}",
        lambda: _add(client, request, layer_version, request.revision_id, deadline),
    )


def update_in_place(
    client: LambdaClient, request: PermissionRequest, layer_version: LayerVersion, deadline: Deadline
) -> Granted:
    """Make the statement match `request`, keeping its StatementId; re-grant it if it went missing."""

    def attempt() -> Granted:
        statements, revision_id = read_policy(client, layer_version, deadline)
        existing = statements.get(request.statement_id)
        if existing is not None and same_grant(existing, request):
            return Granted(layer_version, request.statement_id, revision_id or "", json.dumps(existing))
        if existing is not None:
            _remove(client, layer_version, request.statement_id, revision_id, deadline)
        return _add(client, request, layer_version, None, deadline)

    return _retrying(deadline, f"updating {request.statement_id} on {layer_version.arn}", attempt)


def revoke(client: LambdaClient, grant_id: GrantId, expected: PermissionRequest | None, deadline: Deadline) -> str:
    """Remove the statement the grant names; with `expected`, only if its content matches. Says what happened."""
    layer_version = grant_id.layer_version

    def attempt() -> str:
        statements, revision_id = read_policy(client, layer_version, deadline)
        existing = statements.get(grant_id.statement_id)
        if existing is None:
            return "already absent"
        if expected is not None and not same_grant(existing, expected):
            return "kept: the statement there is not the one this resource asked for"
        _remove(client, layer_version, grant_id.statement_id, revision_id, deadline)
        return "removed"

    return _retrying(deadline, f"revoking {grant_id.statement_id} on {layer_version.arn}", attempt)


def read_policy(
    client: LambdaClient, layer_version: LayerVersion, deadline: Deadline
) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The layer version's statements by Sid and the policy RevisionId; empty when there is no policy."""
    deadline.start_call()
    try:
        response = client.get_layer_version_policy(
            LayerName=layer_version.layer_arn, VersionNumber=layer_version.version
        )
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return {}, None
        raise
    statements = json.loads(response["Policy"]).get("Statement", [])
    return {statement.get("Sid"): statement for statement in statements}, response["RevisionId"]


def same_grant(statement: dict[str, Any], request: PermissionRequest) -> bool:
    """True when a policy statement grants what the request asks: same Sid, principal, organization and action."""
    return GrantStatement.from_policy(statement) == GrantStatement.requested(request)


def _add(
    client: LambdaClient,
    request: PermissionRequest,
    layer_version: LayerVersion,
    revision_id: str | None,
    deadline: Deadline,
) -> Granted:
    optional = {"OrganizationId": request.organization_id, "RevisionId": revision_id}
    deadline.start_call()
    try:
        response = client.add_layer_version_permission(
            LayerName=layer_version.layer_arn,
            VersionNumber=layer_version.version,
            StatementId=request.statement_id,
            Action=request.action,
            Principal=request.principal,
            **{name: value for name, value in optional.items() if value is not None},
        )
    except ClientError as error:
        if _code(error) == "ResourceConflictException":
            return _adopt(client, request, layer_version, deadline)
        raise
    return Granted(layer_version, request.statement_id, response["RevisionId"], response["Statement"])


def _adopt(
    client: LambdaClient, request: PermissionRequest, layer_version: LayerVersion, deadline: Deadline
) -> Granted:
    """After ResourceConflict: the StatementId exists (adopt it if identical) or another write is in progress."""
    statements, revision_id = read_policy(client, layer_version, deadline)
    existing = statements.get(request.statement_id)
    if existing is None:
        raise _Contended("ResourceConflictException: another operation on the layer version's policy is in progress")
    if not same_grant(existing, request):
        raise OperationFailed(
            f"StatementId {request.statement_id!r} already exists on {layer_version.arn} with different content: "
            f"{json.dumps(existing)}. It was not created by this resource and is left untouched; "
            "choose another statement_id, or remove that statement first"
        )
    return Granted(layer_version, request.statement_id, revision_id or "", json.dumps(existing))


def _remove(
    client: LambdaClient, layer_version: LayerVersion, statement_id: str, revision_id: str | None, deadline: Deadline
) -> None:
    deadline.start_call()
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
            raise _Contended(f"{code}: the policy changed while removing {statement_id}; re-reading it") from error
        if code != "ResourceNotFoundException":  # already gone is what we wanted
            raise


def _retrying(deadline: Deadline, what: str, attempt: Callable[[], T]) -> T:
    """Run `attempt` until it succeeds, fails for good, or the deadline leaves no room for another try."""
    outcome_unknown = False
    last_error = "none"
    tries = 0
    while True:
        tries += 1
        try:
            return attempt()
        except _OutOfTime:
            raise OperationFailed(
                f"{what} ran out of time in attempt {tries}: Lambda answered too slowly for the next call to finish "
                f"before the handler's deadline; last error: {last_error}",
                outcome_unknown,
            ) from None
        except _Contended as error:
            last_error = str(error)
        except ClientError as error:
            if not _transient(error):
                raise OperationFailed(f"{what} failed: {_describe(error)}", outcome_unknown) from error
            outcome_unknown = outcome_unknown or _code(error) not in _REFUSED
            last_error = _describe(error)
        except _NETWORK_ERRORS as error:
            outcome_unknown = True
            last_error = f"{type(error).__name__}: {error}"
        if not deadline.wait_before_retry(tries):
            raise OperationFailed(
                f"{what} did not succeed in {tries} attempts before the handler's deadline; last error: {last_error}",
                outcome_unknown,
            )


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _transient(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return _code(error) in (*_REFUSED, "ServiceException") or status >= 500


def _describe(error: ClientError) -> str:
    code = _code(error)
    message = error.response.get("Error", {}).get("Message", "")
    if code == _THROTTLED:
        return f"throttled by Lambda ({code}: {message})"
    hint = _HINTS.get(code)
    return f"{code}: {message}" + (f" ({hint})" if hint else "")
