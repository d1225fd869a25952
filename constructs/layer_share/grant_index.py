"""Checks that span grants, stacks and stages: one index per app, kept at its root.

Each grant is checked against those declared before it, so an error lands on the grant that causes it and names
the other one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from constructs import Construct
from layer_share_handler.physical_id import LayerVersion
from layer_share_handler.rules import ALL_ACCOUNTS, RULES, quote
from layer_share_handler.statement import GrantStatement, account_or_star

from .regions import UNKNOWN_REGION_WARNING, unknown_region
from .validation import Prop

# Lambda's quota on a resource-based policy, which a layer version's policy is: 20 KB
# (Lambda developer guide, "Lambda quotas").
POLICY_LIMIT = 20_480
WARN_AT = POLICY_LIMIT * 8 // 10
POLICY_SIZE_WARNING = "layer-share:LayerPolicyNearLimit"
_EMPTY_POLICY_SIZE = len(json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": []}, separators=(",", ":")))
# What a value known only at deploy time is counted as: the longest the rules allow.
_LONGEST_LAYER_ARN = "arn:aws:lambda:ap-southeast-7:123456789012:layer:"
_TOKEN_LAYER_VERSION = LayerVersion(
    "aws", "ap-southeast-7", "123456789012", "x" * (RULES["LayerName"].max_length - len(_LONGEST_LAYER_ARN)), 99999
)
_TOKEN_STATEMENT_ID = "x" * RULES["StatementId"].max_length
_TOKEN_ACCOUNT = "123456789012"
_TOKEN_ORGANIZATION = "o-" + "x" * 32


@dataclass(frozen=True)
class GrantFacts:
    """One grant as the app-wide checks see it. Tokens stay tokens: a token ARN is its token string."""

    construct: Construct
    version_arn: Prop
    statement_id: Prop
    principal: Prop
    organization_id: Prop | None
    stack_path: str  # the stack that deploys the grant


@dataclass
class _LayerVersionPolicy:
    first: Construct
    size: int = _EMPTY_POLICY_SIZE
    grants: int = 0


@dataclass(frozen=True)
class AppWarning:
    """A warning on the grant, and the ID that acknowledges it (Annotations.acknowledge_warning)."""

    acknowledgment_id: str
    message: str


@dataclass(frozen=True)
class Findings:
    errors: list[str] = field(default_factory=list)
    warnings: list[AppWarning] = field(default_factory=list)


@dataclass(frozen=True)
class _Declared:
    """The first grant seen under a key: which construct, on which layer version, with which values."""

    construct: Construct
    version_arn: str
    statement_id: str
    principal: str


class GrantIndex(Construct):
    """Every grant in the app, by layer and StatementId, by layer version and grantee, and by layer version policy."""

    CONSTRUCT_ID = "LayerVersionPermissionIndex"

    @classmethod
    def of(cls, scope: Construct) -> GrantIndex:
        root = scope.node.root
        existing = root.node.try_find_child(cls.CONSTRUCT_ID)
        if isinstance(existing, GrantIndex):
            return existing
        # The root is the App, a Construct; the constructs library types it as the interface.
        return cls(cast(Construct, root), cls.CONSTRUCT_ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._statement_ids: dict[tuple[str, str], _Declared] = {}
        self._grantees: dict[tuple[str, str, str, str | None], _Declared] = {}
        self._policies: dict[str, _LayerVersionPolicy] = {}

    def add(self, grant: GrantFacts) -> Findings:
        arn = grant.version_arn
        findings = Findings()
        findings.errors.extend(
            problem for problem in (self._same_statement_id(grant), self._same_grantee(grant)) if problem
        )
        if arn.known and arn.value not in self._policies and (region := unknown_region(arn.name, arn.value)):
            findings.warnings.append(AppWarning(UNKNOWN_REGION_WARNING, region))
        self._add_to_policy(grant, findings)
        return findings

    def _same_statement_id(self, grant: GrantFacts) -> str | None:
        """Lambda keeps one statement per StatementId on a layer version, and the handler takes a statement under a
        grant's StatementId on another version of the same layer for that grant's own, kept by its retention."""
        arn, statement_id = grant.version_arn, grant.statement_id
        if not statement_id.known:
            return None
        first = self._statement_ids.setdefault((_layer_of(arn), statement_id.value), _declared(grant))
        if first.construct is grant.construct:
            return None
        fix = "Give one of them another statement_id (or leave it out for the default)"
        if first.version_arn == arn.value:
            return (
                f"{first.construct.node.path} and {grant.construct.node.path} both grant on {_version(arn)} with "
                f"statement_id={quote(statement_id.value)}; Lambda keeps one statement per StatementId on a layer "
                f"version, so one would fail or take over the other's statement. {fix}"
            )
        return (
            f"{first.construct.node.path} grants on layer version {quote(first.version_arn)} and "
            f"{grant.construct.node.path} on {quote(arn.value)}, two versions of one layer, both with "
            f"statement_id={quote(statement_id.value)}; the handler takes a statement under a grant's StatementId on "
            "another version of its layer for a statement that grant keeps, so each grant would revoke or prune the "
            f"other's statement. {fix}"
        )

    def _same_grantee(self, grant: GrantFacts) -> str | None:
        """Two statements granting one account (however spelled), organization or everyone on one layer version, from
        one stack: revoking either grant would leave the access in place through the other. Two stacks may each
        declare, and own, the same access (two stages in one account, say): each keeps it while it declares it."""
        values = (grant.statement_id, grant.principal, grant.organization_id)
        if not all(value is None or value.known for value in values):
            return None
        organization = None if grant.organization_id is None else str(grant.organization_id.value)
        grantee = account_or_star(grant.principal.value)
        key = (grant.stack_path, grant.version_arn.value, grantee, organization)
        first = self._grantees.setdefault(key, _declared(grant))
        if first.construct is grant.construct or first.statement_id == grant.statement_id.value:
            return None  # the same StatementId is reported as such
        if organization is not None:
            who = f"organization {quote(organization)}"
        else:
            who = "every AWS account" if grantee == ALL_ACCOUNTS else f"account {grantee}"
        spelled = (
            ""
            if first.principal == grant.principal.value
            else f" (principal={quote(first.principal)} and principal={quote(grant.principal.value)}, which Lambda "
            "stores alike)"
        )
        return (
            f"{first.construct.node.path} and {grant.construct.node.path} both grant {who} on "
            f"{_version(grant.version_arn)}{spelled}, under statement_id={quote(first.statement_id)} and "
            f"statement_id={quote(grant.statement_id.value)}; Lambda would keep both statements, so removing either "
            f"grant, or changing its principal, would leave {who} the access through the other. Keep one of them"
        )

    def _add_to_policy(self, grant: GrantFacts, findings: Findings) -> None:
        arn = grant.version_arn
        policy = self._policies.setdefault(arn.value, _LayerVersionPolicy(grant.construct))
        before = policy.size
        policy.size += _statement_size(grant) + (1 if policy.grants else 0)
        policy.grants += 1
        if policy.size <= POLICY_LIMIT and not before <= WARN_AT < policy.size:
            return
        estimate = (
            f"the {policy.grants} grants this app declares on {_version(arn)} (the first at {policy.first.node.path}) "
            f"bring its estimated layer version policy to {policy.size:,} bytes"
        )
        advice = "share with an organization (organization_id or organization_ids) instead of many accounts"
        if policy.size > POLICY_LIMIT:
            findings.errors.append(
                f"{estimate}, past Lambda's limit of {POLICY_LIMIT:,} bytes for a resource-based policy, so this "
                f"grant would fail at deploy; {advice}"
            )
        else:
            findings.warnings.append(
                AppWarning(
                    POLICY_SIZE_WARNING,
                    f"{estimate}, past 80% of Lambda's limit of {POLICY_LIMIT:,} bytes for a resource-based policy "
                    f"(statements added outside this app count too); {advice}",
                )
            )


def _declared(grant: GrantFacts) -> _Declared:
    return _Declared(grant.construct, str(grant.version_arn.value), grant.statement_id.value, grant.principal.value)


def _version(arn: Prop) -> str:
    return f"layer version {quote(arn.value)}" if arn.known else "the same layer version (a token)"


def _layer_of(arn: Prop) -> str:
    """The layer of a concrete layer version ARN; a token stands for its own layer version only."""
    arn_text = str(arn.value)
    return arn_text.rpartition(":")[0] if arn.known else arn_text


def _statement_size(grant: GrantFacts) -> int:
    """The statement as Lambda stores it, without whitespace; tokens at their longest."""

    def value(prop: Prop, otherwise: str) -> str:
        return str(prop.value) if prop.known else otherwise

    organization = grant.organization_id
    statement = GrantStatement(
        value(grant.statement_id, _TOKEN_STATEMENT_ID),
        account_or_star(value(grant.principal, _TOKEN_ACCOUNT)),
        None if organization is None else value(organization, _TOKEN_ORGANIZATION),
    )
    layer_version = _parse(grant.version_arn.value) if grant.version_arn.known else _TOKEN_LAYER_VERSION
    return len(json.dumps(statement.policy_statement(layer_version), separators=(",", ":")))


def _parse(version_arn: str) -> LayerVersion:
    """A valid layer version ARN: arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>."""
    parts: list[Any] = version_arn.split(":")
    return LayerVersion(parts[1], parts[3], parts[4], parts[6], int(parts[7]))
