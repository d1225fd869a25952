"""Bring layer versions' policies to what the ownership model asks, one version at a time.

Each version is read, planned (ownership.plan) and changed right after the read. The writes name the StatementId
only, not the RevisionId read: grants of one stack change one policy at once (a stack delete sends them all in
parallel), and a write conditioned on the whole policy's revision would make them refuse each other over and
over. An add that finds the StatementId taken, or a remove that finds it gone, reads and decides again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .api_calls import VersionPolicy, add_statement, compact, read_policy, remove_statement, retrying
from .budget import Budget
from .exceptions import Contended, OperationFailed, StatementExists
from .ownership import Change, Holding, Window, plan
from .physical_id import LayerVersion
from .statement import GrantStatement

if TYPE_CHECKING:
    from types_boto3_lambda.client import LambdaClient

# What an event did on one version, as the audit record names it.
GRANTED, ADOPTED, UPDATED, KEPT = "granted", "adopted", "updated", "kept"
REMOVED, ALREADY_ABSENT = "removed", "already absent"


@dataclass(frozen=True)
class Converged:
    """What happened on one version, and the grant's statement there afterwards with the policy's RevisionId
    (None where the version does not hold the grant)."""

    outcome: str
    statement: str | None = None
    revision_id: str | None = None


@dataclass(frozen=True)
class Rule:
    """What one grant asks of the versions of its layer: its content, what it owns, its window, and whether
    statements outside the window go now."""

    target: GrantStatement
    owned: frozenset[GrantStatement]
    window: Window | None
    prune: bool

    @classmethod
    def removing(cls, statement: GrantStatement) -> Rule:
        """Nothing on this layer may hold `statement` any more: every copy of it goes."""
        return cls(statement, frozenset({statement}), None, prune=True)

    @property
    def statement_id(self) -> str:
        return self.target.statement_id


def converge(client: LambdaClient, layer_version: LayerVersion, rule: Rule, budget: Budget) -> Converged:
    """Read the version's policy and change it to follow `rule`: one read, and at most two writes."""
    what = f"updating {rule.statement_id} on {layer_version.arn}"
    return retrying(budget, what, lambda: _step(client, layer_version, rule, budget))


def grant_first(
    client: LambdaClient, layer_version: LayerVersion, rule: Rule, revision_id: str | None, budget: Budget
) -> Converged:
    """A Create's grant: add without reading first (one call), and read only if the StatementId is taken."""

    def attempt() -> Converged:
        try:
            added = add_statement(client, layer_version, rule.target, revision_id, budget)
        except StatementExists:
            found = _step(client, layer_version, rule, budget)
            return replace(found, outcome=ADOPTED) if found.outcome == KEPT and found.statement else found
        return Converged(GRANTED, added.statement, added.revision_id)

    return retrying(budget, f"granting {rule.statement_id} on {layer_version.arn}", attempt)


def revoke_at_revision(
    client: LambdaClient, layer_version: LayerVersion, rule: Rule, revision_id: str, budget: Budget
) -> Converged:
    """Remove the statement this resource added, if the policy is still at the RevisionId its add left: one call.
    A policy that moved on since is read and decided by ownership."""

    moved_on = False

    def attempt() -> Converged:
        nonlocal moved_on
        if not moved_on:
            try:
                removed = remove_statement(client, layer_version, rule.statement_id, revision_id, budget)
            except Contended:
                moved_on = True
            else:
                return Converged(REMOVED if removed else ALREADY_ABSENT)
        return _step(client, layer_version, rule, budget)

    return retrying(budget, f"revoking {rule.statement_id} on {layer_version.arn}", attempt)


def each_version(
    layer_version: LayerVersion, versions: Iterable[int], act: Callable[[LayerVersion], Converged], what: str
) -> dict[int, Converged]:
    """Act on each version in turn; on a failure, say which versions were done and which were not."""
    done: dict[int, Converged] = {}
    ordered = list(versions)
    for index, number in enumerate(ordered):
        try:
            done[number] = act(replace(layer_version, version=number))
        except OperationFailed as failure:
            finished = ", ".join(f"{n}: {c.outcome}" for n, c in done.items()) or "none"
            left = ", ".join(str(n) for n in ordered[index:])
            raise OperationFailed(
                f"{what} stopped at version {number}: {failure}. Done: {finished}. Not done: versions {left}",
                failure.outcome_unknown,
            ) from failure
    return done


def _step(client: LambdaClient, layer_version: LayerVersion, rule: Rule, budget: Budget) -> Converged:
    policy = read_policy(client, layer_version, rule.statement_id, budget)
    version = layer_version.version
    decided = plan(rule.target, rule.owned, rule.window, {version: policy.holding}, rule.prune)
    if version in decided.conflicts:
        raise OperationFailed(_conflict(layer_version, rule.statement_id, decided.conflicts[version], policy))
    change = decided.changes.get(version)
    try:
        if change is Change.REMOVE:
            removed = remove_statement(client, layer_version, rule.statement_id, None, budget)
            return Converged(REMOVED if removed else ALREADY_ABSENT)
        if change is Change.REPLACE:
            # Gone since the read: whether the version must hold the grant again is the window's to say.
            if not remove_statement(client, layer_version, rule.statement_id, None, budget):
                raise Contended(f"{rule.statement_id} went from {layer_version.arn} meanwhile")
            added = add_statement(client, layer_version, rule.target, None, budget)
            return Converged(UPDATED, added.statement, added.revision_id)
        if change is Change.ADD:
            added = add_statement(client, layer_version, rule.target, None, budget)
            return Converged(GRANTED, added.statement, added.revision_id)
    except StatementExists:
        raise Contended(f"{rule.statement_id} appeared on {layer_version.arn} meanwhile") from None
    if policy.holding == rule.target and policy.statement is not None:
        return Converged(KEPT, compact(policy.statement), policy.revision_id)
    return Converged(KEPT if policy.holding is not None else ALREADY_ABSENT)


def _conflict(layer_version: LayerVersion, statement_id: str, holding: Holding, policy: VersionPolicy) -> str:
    found = compact(policy.statement) if policy.statement is not None else repr(holding)
    return (
        f"StatementId {statement_id!r} on {layer_version.arn} holds a statement this resource did not make: {found}. "
        "It is left untouched; remove it, or choose another statement_id"
    )
