"""Bounded retention: this resource's statement on the other versions of its layer.

A statement on another version is this resource's only if it carries the resource's StatementId and grants
what the resource grants (principal, organization and action): a statement that a person or another resource
made under the same StatementId is never touched. Versions the owner deleted are not listed, so they neither
count nor get a call.

- A move to a newer version leaves the older ones as they are. CloudFormation's cleanup Delete of the replaced
  grant then finds the newer version holding the statement, and prunes the versions past the newest
  `keep_versions`. Pruning only once the update has succeeded means a rolled-back move finds them intact.
- A move to an older version (the rollback of a move, say) revokes the statement on the newer versions, so the
  cleanup Delete of the newer grant finds nothing of its own left, and leaves the older versions alone.
- A change of principal or organization applies to every version that holds the statement.
- A Delete that no newer version supersedes is the end of the resource: with `revoke_retained_on_delete`, it
  revokes the statement on every version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .budget import Budget
from .permissions import ALREADY_ABSENT, KEPT, OperationFailed, layer_versions, read_statement, regrant_owned, revoke
from .permissions import revoke_owned as revoke_owned_statement
from .physical_id import GrantId, LayerVersion
from .rules import PermissionRequest, Retention
from .statement import GrantStatement

if TYPE_CHECKING:
    from types_boto3_lambda.client import LambdaClient

# What the event did on each other version of the layer, by version number.
Outcomes = dict[int, str]


def past_the_window(versions: Iterable[int], current: int, keep: int | None) -> list[int]:
    """The versions older than `current` that fall outside its newest `keep` (counting `current`), oldest first.

    `keep=None` keeps every version.
    """
    older = sorted((version for version in versions if version < current), reverse=True)
    return [] if keep is None else sorted(older[keep - 1 :])


def retire(
    client: LambdaClient, grant_id: GrantId, granted: GrantStatement, retention: Retention, budget: Budget
) -> tuple[str, Outcomes]:
    """A Delete: what happened to the grant's own version, and to the others.

    Superseded by a newer version holding the statement, it is the cleanup after a move: prune past the window
    of that newer version. Otherwise it is the end of the resource: revoke the own statement and, if asked,
    every one this resource kept.
    """
    versions = layer_versions(client, grant_id.layer_version, budget)
    own = grant_id.layer_version.version
    superseding = _newest_holder(client, [v for v in versions if v.version > own], grant_id.statement_id, budget)
    if superseding is not None:
        newer, current = superseding
        # The newer version's statement is the grant as it stands now, after any change of principal.
        owned = frozenset({granted, *([current] if current is not None else [])})
        pruned = set(past_the_window((v.version for v in versions), newer.version, retention.keep_versions))
        outcomes = _each(
            [v for v in versions if v.version in pruned],
            lambda version: revoke_owned_statement(client, version, grant_id.statement_id, owned, budget),
            "pruning",
        )
        return outcomes.pop(own, KEPT), outcomes
    own_outcome = revoke(client, grant_id, budget)
    if own_outcome == ALREADY_ABSENT or not retention.revoke_retained_on_delete:
        # Already gone: a move back to an older version took it (the rollback of a move), or a person did.
        return own_outcome, {}
    outcomes = _each(
        [v for v in versions if v.version < own],
        lambda version: revoke_owned_statement(client, version, grant_id.statement_id, frozenset({granted}), budget),
        "revoking the kept statements",
    )
    return own_outcome, outcomes


def follow(
    client: LambdaClient,
    request: PermissionRequest,
    layer_version: LayerVersion,
    previous: tuple[LayerVersion, GrantStatement],
    budget: Budget,
) -> Outcomes:
    """After an Update granted `request` on `layer_version`: bring the layer's other versions along.

    A move back to an older version revokes the statement on the newer ones; a new principal or organization
    replaces the previous one wherever this resource's statement holds it.
    """
    previous_version, previous_grant = previous
    requested = GrantStatement.requested(request)
    same_statement = (previous_version.layer_arn, previous_grant.statement_id) == (
        layer_version.layer_arn,
        requested.statement_id,
    )
    backward = previous_version.version > layer_version.version
    changed = previous_grant != requested and request.retention.keep_versions != 1
    if not request.retention.active or not same_statement or not (backward or changed):
        return {}
    others = [v for v in layer_versions(client, layer_version, budget) if v.version != layer_version.version]
    owned = frozenset({previous_grant, requested})

    def bring_along(version: LayerVersion) -> str:
        if version.version > layer_version.version:
            return revoke_owned_statement(client, version, request.statement_id, owned, budget)
        return regrant_owned(client, request, version, previous_grant, budget) if changed else KEPT

    return _each(others, bring_along, "updating the other versions")


def _newest_holder(
    client: LambdaClient, versions: list[LayerVersion], statement_id: str, budget: Budget
) -> tuple[LayerVersion, GrantStatement | None] | None:
    """The newest of `versions` whose policy has a statement under `statement_id`, with what it grants."""
    for version in sorted(versions, key=_number, reverse=True):
        statement = read_statement(client, version, statement_id, budget)
        if statement is not None:
            return version, GrantStatement.from_policy(statement)
    return None


def _each(versions: list[LayerVersion], act: Callable[[LayerVersion], str], what: str) -> Outcomes:
    """Act on each version in turn; on a failure, say which versions were done and which were not."""
    outcomes: Outcomes = {}
    for index, version in enumerate(versions):
        try:
            outcomes[version.version] = act(version)
        except OperationFailed as failure:
            done = ", ".join(f"{number}: {outcome}" for number, outcome in outcomes.items()) or "none"
            left = ", ".join(str(v.version) for v in versions[index:])
            raise OperationFailed(
                f"{what} stopped at version {version.version}: {failure}. Done: {done}. "
                f"Not done, so the statement may remain on versions: {left}",
                failure.outcome_unknown,
            ) from failure
    return outcomes


def _number(layer_version: LayerVersion) -> int:
    return layer_version.version
