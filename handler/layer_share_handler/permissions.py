"""Grant, update and revoke one layer version permission: plain functions over a boto3 Lambda client.

Each makes the fewest calls its outcome allows: a Create adds, a Delete of a grant this resource made
removes it by StatementId, and only where nothing is known about the statement is the policy read first.
Every attempt is idempotent, so a retry after a timeout or a conflict converges instead of duplicating
or overwriting a statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .budget import Budget, OutOfTime
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

# What an operation did, as the audit record names it.
GRANTED, ADOPTED, UPDATED, KEPT = "granted", "adopted", "updated", "kept"
REMOVED, ALREADY_ABSENT = "removed", "already absent"

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


@dataclass(frozen=True)
class Granted:
    """A statement that is in place, with the policy revision after the operation, and what the operation did."""

    layer_version: LayerVersion
    statement_id: str
    revision_id: str
    statement: str
    outcome: str

    @property
    def data(self) -> dict[str, str]:
        """The attributes that Fn::GetAtt exposes."""
        return {
            "Statement": self.statement,
            "RevisionId": self.revision_id,
            "StatementId": self.statement_id,
            "LayerVersionArn": self.layer_version.arn,
        }


def kept(layer_version: LayerVersion, request: PermissionRequest, revision_id: str) -> Granted:
    """The grant as it stands, without a call: an Update that leaves the statement as it is."""
    statement = GrantStatement.requested(request).policy_statement(layer_version)
    return Granted(layer_version, request.statement_id, revision_id, _compact(statement), KEPT)


def grant(
    client: LambdaClient,
    request: PermissionRequest,
    layer_version: LayerVersion,
    budget: Budget,
    replaceable: GrantStatement | None = None,
) -> Granted:
    """Add the statement, or adopt an identical one that is already there (a repeated Create): one call.

    A statement under the same StatementId that grants `replaceable` is this resource's own, from before a
    change of principal (a rolled-back version move, say): it is replaced rather than refused.
    """
    return _retrying(
        budget,
        f"granting {request.statement_id} on {layer_version.arn}",
        lambda: _add(client, request, layer_version, request.revision_id, budget, replaceable),
    )


def replace_statement(
    client: LambdaClient, request: PermissionRequest, layer_version: LayerVersion, budget: Budget
) -> Granted:
    """Swap this resource's statement for the requested one under the same StatementId: two writes, no read.

    The event says what the statement held, so nothing needs reading; a statement already gone is simply added.
    """

    def attempt() -> Granted:
        _remove(client, layer_version, request.statement_id, None, budget)
        granted = _add(client, request, layer_version, None, budget)
        return Granted(granted.layer_version, granted.statement_id, granted.revision_id, granted.statement, UPDATED)

    return _retrying(budget, f"updating {request.statement_id} on {layer_version.arn}", attempt)


def update_in_place(
    client: LambdaClient, request: PermissionRequest, layer_version: LayerVersion, budget: Budget
) -> Granted:
    """Make the statement match `request` when the event does not say what it holds: read it, then change it only
    if it differs (at most one read and two writes); re-grant it if it went missing."""

    def attempt() -> Granted:
        statements, revision_id = read_policy(client, layer_version, budget)
        existing = statements.get(request.statement_id)
        if existing is not None and same_grant(existing, request):
            return Granted(layer_version, request.statement_id, revision_id or "", _compact(existing), KEPT)
        if existing is not None:
            _remove(client, layer_version, request.statement_id, revision_id, budget)
        granted = _add(client, request, layer_version, None, budget)
        outcome = UPDATED if existing is not None else granted.outcome
        return Granted(granted.layer_version, granted.statement_id, granted.revision_id, granted.statement, outcome)

    return _retrying(budget, f"updating {request.statement_id} on {layer_version.arn}", attempt)


def revoke(client: LambdaClient, grant_id: GrantId, budget: Budget) -> str:
    """Remove the statement this resource granted, by StatementId: one call. Says what happened."""
    layer_version = grant_id.layer_version
    return _retrying(
        budget,
        f"revoking {grant_id.statement_id} on {layer_version.arn}",
        lambda: _remove(client, layer_version, grant_id.statement_id, None, budget),
    )


def revoke_if_ours(client: LambdaClient, grant_id: GrantId, expected: PermissionRequest, budget: Budget) -> str:
    """After a Create whose outcome was unknown: remove the statement only if it is the one this resource asked
    for, conditioned on the RevisionId read, so that a statement put there meanwhile is never removed unseen."""
    owned = frozenset({GrantStatement.requested(expected)})
    return revoke_owned(client, grant_id.layer_version, grant_id.statement_id, owned, budget)


def revoke_owned(
    client: LambdaClient,
    layer_version: LayerVersion,
    statement_id: str,
    owned: frozenset[GrantStatement],
    budget: Budget,
) -> str:
    """Remove the statement under `statement_id` only if it grants one of `owned`: a read, then a remove
    conditioned on the RevisionId read. A statement with other content is somebody else's, and is kept."""

    def attempt() -> str:
        statements, revision_id = read_policy(client, layer_version, budget)
        existing = statements.get(statement_id)
        if existing is None:
            return ALREADY_ABSENT
        if GrantStatement.from_policy(existing) not in owned:
            return KEPT
        return _remove(client, layer_version, statement_id, revision_id, budget)

    return _retrying(budget, f"revoking {statement_id} on {layer_version.arn}", attempt)


def regrant_owned(
    client: LambdaClient,
    request: PermissionRequest,
    layer_version: LayerVersion,
    previous: GrantStatement,
    budget: Budget,
) -> str:
    """Where this resource's statement grants `previous`, make it grant `request`: a read, and two writes only
    where it changes. A version without the statement stays without it; somebody else's statement is kept."""

    def attempt() -> str:
        statements, revision_id = read_policy(client, layer_version, budget)
        existing = statements.get(request.statement_id)
        if existing is None:
            return ALREADY_ABSENT
        found = GrantStatement.from_policy(existing)
        if found == GrantStatement.requested(request) or found != previous:
            return KEPT
        _remove(client, layer_version, request.statement_id, revision_id, budget)
        _add(client, request, layer_version, None, budget)
        return UPDATED

    return _retrying(budget, f"updating {request.statement_id} on {layer_version.arn}", attempt)


def read_statement(
    client: LambdaClient, layer_version: LayerVersion, statement_id: str, budget: Budget
) -> dict[str, Any] | None:
    """The statement under `statement_id` on this version, or None: one call."""
    return _retrying(
        budget,
        f"reading the policy of {layer_version.arn}",
        lambda: read_policy(client, layer_version, budget)[0].get(statement_id),
    )


def layer_versions(client: LambdaClient, layer_version: LayerVersion, budget: Budget) -> list[LayerVersion]:
    """Every version of the layer that still exists, oldest first: one call per page of 50."""

    def attempt() -> list[LayerVersion]:
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
                return [replace(layer_version, version=number) for number in sorted(numbers)]
            marker = page["NextMarker"]

    return _retrying(budget, f"listing the versions of {layer_version.layer_arn}", attempt)


def read_policy(
    client: LambdaClient, layer_version: LayerVersion, budget: Budget
) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The layer version's statements by Sid and the policy RevisionId; empty when there is no policy."""
    budget.start_call()
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
    budget: Budget,
    replaceable: GrantStatement | None = None,
) -> Granted:
    optional = {"OrganizationId": request.organization_id, "RevisionId": revision_id}
    budget.start_call()
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
            return _adopt(client, request, layer_version, budget, replaceable)
        raise
    return Granted(layer_version, request.statement_id, response["RevisionId"], response["Statement"], GRANTED)


def _adopt(
    client: LambdaClient,
    request: PermissionRequest,
    layer_version: LayerVersion,
    budget: Budget,
    replaceable: GrantStatement | None,
) -> Granted:
    """After ResourceConflict: the StatementId exists (adopt it if identical, replace it if it is this resource's
    earlier grant) or another write is in progress."""
    statements, revision_id = read_policy(client, layer_version, budget)
    existing = statements.get(request.statement_id)
    if existing is None:
        raise _Contended("ResourceConflictException: another operation on the layer version's policy is in progress")
    if replaceable is not None and GrantStatement.from_policy(existing) == replaceable:
        _remove(client, layer_version, request.statement_id, revision_id, budget)
        granted = _add(client, request, layer_version, None, budget)
        return Granted(granted.layer_version, granted.statement_id, granted.revision_id, granted.statement, UPDATED)
    if not same_grant(existing, request):
        raise OperationFailed(
            f"StatementId {request.statement_id!r} already exists on {layer_version.arn} with different content: "
            f"{json.dumps(existing)}. It was not created by this resource and is left untouched; "
            "choose another statement_id, or remove that statement first"
        )
    return Granted(layer_version, request.statement_id, revision_id or "", _compact(existing), ADOPTED)


def _remove(
    client: LambdaClient, layer_version: LayerVersion, statement_id: str, revision_id: str | None, budget: Budget
) -> str:
    """Remove one statement; without `revision_id`, whatever it holds. ResourceNotFound means it is not there."""
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
            raise _Contended(f"{code}: the policy changed while removing {statement_id}") from error
        if code == "ResourceNotFoundException":  # no such statement, policy or layer version: nothing to remove
            return ALREADY_ABSENT
        raise
    return REMOVED


def _compact(statement: dict[str, Any]) -> str:
    """A statement as Lambda returns it in AddLayerVersionPermission's Statement: compact JSON."""
    return json.dumps(statement, separators=(",", ":"))


def _retrying(budget: Budget, what: str, attempt: Callable[[], T]) -> T:
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
                f"{what} ran out of time in attempt {tries}: no further Lambda call could finish before the "
                f"response to CloudFormation must go; last error: {last_error}",
                outcome_unknown,
            ) from None
        except _Contended as error:
            last_error = str(error)
        except ClientError as error:
            if not _transient(error):
                raise OperationFailed(f"{what} failed: {_describe(error)}", outcome_unknown) from error
            outcome_unknown = outcome_unknown or _code(error) not in _REFUSED
            retry_after = _retry_after(error)
            last_error = _describe(error) + (f"; Lambda asked to retry after {retry_after:g} s" if retry_after else "")
        except _NETWORK_ERRORS as error:
            outcome_unknown = True
            last_error = f"{type(error).__name__}: {error}"
        if not budget.wait_before_retry(tries, retry_after):
            raise OperationFailed(
                f"{what} did not succeed in {tries} attempts before the response to CloudFormation must go; "
                f"last error: {last_error}",
                outcome_unknown,
            )


def _retry_after(error: ClientError) -> float | None:
    """Lambda's Retry-After header on a 429, in seconds."""
    value = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


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
