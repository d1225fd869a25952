"""What each CloudFormation event does to the grant: Create, Update and Delete decisions that return a result.

- Create grants the window (ownership.py); Update grants it again, so a deploy that touches the grant repairs
  drift; an Update in place also prunes, while a move leaves pruning to CloudFormation's cleanup Delete, after
  the stack update has succeeded.
- A Delete asks CloudFormation's record what kind of Delete it is (the reference's cloudformation-phases.md):
  the cleanup of a replaced or rolled-back copy prunes what the live grant's window no longer holds; a resource
  going away revokes its statements. Nothing is inferred from what the policies look like.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .api_calls import StackResource, describe_stack_resource, list_versions, retrying
from .budget import Budget
from .exceptions import EventFailed, InvalidProperties, OperationFailed
from .ownership import Window, owned_contents, window_of
from .physical_id import (
    LayerVersion,
    PhysicalId,
    build_not_granted_id,
    build_physical_id,
    layer_version_for,
    parse_physical_id,
)
from .protocol import CloudFormationEvent, LambdaContext
from .reconcile import ALREADY_ABSENT, KEPT, Converged, Rule, converge, each_version, grant_first, revoke_at_revision
from .rules import GRANT_METADATA, GrantProperties, parse_properties
from .statement import GrantStatement

if TYPE_CHECKING:
    from types_boto3_cloudformation.client import CloudFormationClient
    from types_boto3_lambda.client import LambdaClient


@dataclass(frozen=True)
class Clients:
    """Where the decisions get their clients: one per service and region."""

    lambda_api: Callable[[str], LambdaClient]
    cloudformation: Callable[[str], CloudFormationClient]


@dataclass(frozen=True)
class Result:
    """What an event answers, and what it did on the grant's own version and on the layer's others."""

    physical_id: str
    data: dict[str, str]
    outcome: str
    others: dict[int, str]


@dataclass(frozen=True)
class DeclaredGrant:
    """A grant as its resource declares it: the validated properties, the layer version they name, its statement."""

    properties: GrantProperties
    layer_version: LayerVersion

    @property
    def statement(self) -> GrantStatement:
        return GrantStatement.requested(self.properties)

    @property
    def identity(self) -> tuple[LayerVersion, str]:
        return self.layer_version, self.properties.statement_id

    def same_layer_and_statement(self, other: DeclaredGrant) -> bool:
        return (self.layer_version.layer_arn, self.properties.statement_id) == (
            other.layer_version.layer_arn,
            other.properties.statement_id,
        )


def declared_grant(properties: Any, context: LambdaContext) -> DeclaredGrant:
    """Validated properties, and the layer version they name (a bare name is in the function's account)."""
    request = parse_properties(properties)
    return DeclaredGrant(
        request, layer_version_for(request.layer_name, request.version_number, context.invoked_function_arn)
    )


def create(event: CloudFormationEvent, context: LambdaContext, clients: Clients, budget: Budget) -> Result:
    """Grant the current version (one call), then the older versions the window must hold."""
    grant = declared_grant(event["ResourceProperties"], context)
    layer_version, target = grant.layer_version, grant.statement
    client = clients.lambda_api(layer_version.region)
    alone = Window(layer_version.version, frozenset({layer_version.version}), frozenset({layer_version.version}))
    try:
        current = grant_first(
            client, layer_version, Rule(target, frozenset({target}), alone, False), grant.properties.revision_id, budget
        )
    except OperationFailed as failure:
        # A request that may have landed gets an ID whose Delete checks the statement before removing it.
        unknown = build_physical_id(layer_version, target.statement_id, "")
        not_granted = build_not_granted_id(event["RequestId"])
        raise EventFailed(str(failure), unknown if failure.outcome_unknown else not_granted) from None
    physical_id = build_physical_id(layer_version, target.statement_id, current.revision_id or "")
    others: dict[int, Converged] = {}
    retention = grant.properties.retention
    if (retention.keep_versions or 1) > 1:
        try:
            window = window_of(layer_version.version, _versions(client, layer_version, budget), retention)
            rule = Rule(target, frozenset({target}), window, False)
            older = sorted(window.must_hold - {layer_version.version}, reverse=True)
            others = each_version(
                layer_version,
                older,
                lambda version: grant_first(client, version, rule, None, budget),
                "granting the versions keep_versions keeps",
            )
        except OperationFailed as failure:
            raise EventFailed(str(failure), physical_id) from None
    return Result(physical_id, _data(grant, current), current.outcome, _outcomes(others))


def update(event: CloudFormationEvent, context: LambdaContext, clients: Clients, budget: Budget) -> Result:
    """Grant the window again. In place (same version and StatementId), also prune and keep the ID; a move
    returns a new ID, and CloudFormation's cleanup Delete of the old one prunes once the update has succeeded."""
    grant = declared_grant(event["ResourceProperties"], context)
    physical_id = event["PhysicalResourceId"]
    previous = _previous_grant(event, context)
    resource_id = parse_physical_id(physical_id)
    in_place = resource_id is not None and (resource_id.layer_version, resource_id.statement_id) == grant.identity
    earlier = previous.statement if previous is not None and previous.same_layer_and_statement(grant) else None
    layer_version, retention = grant.layer_version, grant.properties.retention
    unchanged = (
        in_place
        and previous is not None
        and (previous.layer_version, previous.statement, previous.properties.retention)
        == (grant.layer_version, grant.statement, grant.properties.retention)
    )
    # An in-place change prunes (a narrower window, or what a failed cleanup left); a new principal reaches every
    # version that keeps the grant; otherwise only the versions that must hold the grant are read.
    prunes = in_place and not unchanged
    converts = earlier is not None and earlier != grant.statement
    client = clients.lambda_api(layer_version.region)
    try:
        if not retention.active or (retention.keep_versions is None and not prunes and not converts):
            window, versions = window_of(layer_version.version, (), retention), {layer_version.version}
        else:
            existing = _versions(client, layer_version, budget)
            window = window_of(layer_version.version, existing, retention)
            kept = window.may_hold if converts else window.must_hold
            versions = {*existing, layer_version.version} if prunes else set(kept)
        rule = Rule(grant.statement, owned_contents(grant.statement, earlier), window, prune=in_place)
        current = converge(client, layer_version, rule, budget)
        others = each_version(
            layer_version,
            sorted(versions - {layer_version.version}, reverse=True),
            lambda version: converge(client, version, rule, budget),
            "bringing the layer's other versions along",
        )
    except OperationFailed as failure:
        raise EventFailed(str(failure), physical_id) from None
    if not in_place:
        physical_id = build_physical_id(layer_version, grant.properties.statement_id, current.revision_id or "")
    return Result(physical_id, _data(grant, current), current.outcome, _outcomes(others))


def delete(event: CloudFormationEvent, context: LambdaContext, clients: Clients, budget: Budget) -> Result:
    """Revoke what this copy of the resource must no longer hold, by what CloudFormation says the Delete is."""
    physical_id = event["PhysicalResourceId"]
    resource_id = parse_physical_id(physical_id)
    if resource_id is None:  # its Create failed and granted nothing
        return Result(physical_id, {}, ALREADY_ABSENT, {})
    grant = _deleted_grant(event, context, resource_id)
    client = clients.lambda_api(resource_id.layer_version.region)
    try:
        if not grant.properties.retention.active:
            return Result(physical_id, {}, _revoke_own(client, resource_id, grant.statement, budget).outcome, {})
        stack = _stack_record(event, clients, budget)
        if stack.physical_id is None or stack.physical_id == physical_id:
            done = _going_away(client, grant, resource_id, budget)
        else:
            done = _cleanup(client, grant, _live_grant(stack, context, physical_id), budget)
    except OperationFailed as failure:
        raise EventFailed(str(failure), physical_id) from None
    own = done.pop(resource_id.layer_version.version, Converged(KEPT))
    return Result(physical_id, {}, own.outcome, _outcomes(done))


def _going_away(
    client: LambdaClient, grant: DeclaredGrant, resource_id: PhysicalId, budget: Budget
) -> dict[int, Converged]:
    """The resource or its stack is being deleted: revoke its statement, and with revoke_retained_on_delete every
    one it kept, wherever they are on the layer."""
    done = {resource_id.layer_version.version: _revoke_own(client, resource_id, grant.statement, budget)}
    if grant.properties.retention.revoke_retained_on_delete:
        rule = Rule.removing(grant.statement)
        own = resource_id.layer_version
        others = [version for version in _versions(client, own, budget) if version != own.version]
        done |= each_version(
            own,
            sorted(others, reverse=True),
            lambda version: converge(client, version, rule, budget),
            "revoking the statements the grant kept",
        )
    return done


def _cleanup(client: LambdaClient, grant: DeclaredGrant, live: DeclaredGrant, budget: Budget) -> dict[int, Converged]:
    """CloudFormation deletes an old copy after the live grant replaced it (or a rollback restored the live one):
    prune what the live grant's window does not hold, of this copy's statements and the live one's."""
    own = grant.layer_version
    if not live.properties.retention.active:
        outside: Iterable[int] = [] if live.identity == grant.identity else [own.version]
        rule = Rule.removing(grant.statement)
    elif live.same_layer_and_statement(grant):
        existing = _versions(client, own, budget)
        window = window_of(live.layer_version.version, existing, live.properties.retention)
        outside = [v for v in {*existing, own.version} if v not in window.may_hold]
        rule = Rule(live.statement, owned_contents(live.statement, grant.statement), window, prune=True)
    else:  # the grant moved to another layer or StatementId: nothing of this one may stay
        outside = {*_versions(client, own, budget), own.version}
        rule = Rule.removing(grant.statement)
    return each_version(
        own, sorted(outside, reverse=True), lambda version: converge(client, version, rule, budget), "pruning"
    )


def _revoke_own(client: LambdaClient, resource_id: PhysicalId, statement: GrantStatement, budget: Budget) -> Converged:
    """Remove the grant's statement from its own version: by the RevisionId its write left when the ID has one
    (one call while nobody changed the policy), else after reading that the statement is this grant's."""
    rule = Rule.removing(statement)
    if resource_id.outcome_unknown:
        return converge(client, resource_id.layer_version, rule, budget)
    return revoke_at_revision(client, resource_id.layer_version, rule, resource_id.revision_id, budget)


def _deleted_grant(event: CloudFormationEvent, context: LambdaContext, resource_id: PhysicalId) -> DeclaredGrant:
    """The grant the Delete's properties declare, which must be the one its PhysicalResourceId names."""
    physical_id = event["PhysicalResourceId"]
    try:
        grant = declared_grant(event.get("ResourceProperties"), context)
    except InvalidProperties as problem:
        raise EventFailed(
            f"The Delete's ResourceProperties are not valid, so nothing tells which statement is this grant's; "
            f"nothing was touched: {problem}",
            physical_id,
        ) from None
    if grant.identity != (resource_id.layer_version, resource_id.statement_id):
        raise EventFailed(
            f"The PhysicalResourceId names StatementId {resource_id.statement_id!r} on "
            f"{resource_id.layer_version.arn}, but the properties name {grant.properties.statement_id!r} on "
            f"{grant.layer_version.arn}; nothing was touched. Remove the statement by hand if it should go, then retry",
            physical_id,
        )
    return grant


def _stack_record(event: CloudFormationEvent, clients: Clients, budget: Budget) -> StackResource:
    stack_id, logical_id = event["StackId"], event["LogicalResourceId"]
    client = clients.cloudformation(stack_id.split(":")[3])
    what = f"asking CloudFormation what the Delete of {logical_id} is"
    return retrying(budget, what, lambda: describe_stack_resource(client, stack_id, logical_id, budget))


def _live_grant(stack: StackResource, context: LambdaContext, physical_id: str) -> DeclaredGrant:
    """The grant that replaced this copy, from CloudFormation's record: its ID and its Metadata's properties."""
    live_id = parse_physical_id(stack.physical_id)
    properties = stack.metadata.get(GRANT_METADATA) if isinstance(stack.metadata, dict) else None
    try:
        live = declared_grant(properties, context)
    except InvalidProperties as problem:
        raise EventFailed(
            f"CloudFormation's record of the live grant {stack.physical_id!r} has no valid {GRANT_METADATA} "
            f"metadata, so its window is unknown; nothing was pruned: {problem}",
            physical_id,
        ) from None
    if live_id is None or (live_id.layer_version, live_id.statement_id) != live.identity:
        raise EventFailed(
            f"CloudFormation's live grant {stack.physical_id!r} does not match its {GRANT_METADATA} metadata "
            f"({json.dumps(properties)}); nothing was pruned",
            physical_id,
        )
    return live


def _previous_grant(event: CloudFormationEvent, context: LambdaContext) -> DeclaredGrant | None:
    """What the old properties granted, read by the same rules as the new ones; None when they are not valid."""
    try:
        return declared_grant(event.get("OldResourceProperties"), context)
    except InvalidProperties:
        return None


def _versions(client: LambdaClient, layer_version: LayerVersion, budget: Budget) -> list[int]:
    return retrying(
        budget,
        f"listing the versions of {layer_version.layer_arn}",
        lambda: list_versions(client, layer_version, budget),
    )


def _data(grant: DeclaredGrant, current: Converged) -> dict[str, str]:
    """The attributes Fn::GetAtt exposes."""
    return {
        "Statement": current.statement or "",
        "RevisionId": current.revision_id or "",
        "StatementId": grant.properties.statement_id,
        "LayerVersionArn": grant.layer_version.arn,
    }


def _outcomes(done: dict[int, Converged]) -> dict[int, str]:
    return {version: converged.outcome for version, converged in done.items()}
