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
from layer_share_handler.rules import RULES, quote
from layer_share_handler.statement import GrantStatement, account_or_star

from .problems import Prop

# Lambda's quota on a resource-based policy, which a layer version's policy is: 20 KB
# (Lambda developer guide, "Lambda quotas").
POLICY_LIMIT = 20_480
WARN_AT = POLICY_LIMIT * 8 // 10
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


@dataclass
class _LayerVersionPolicy:
    first: Construct
    size: int = _EMPTY_POLICY_SIZE
    grants: int = 0


@dataclass(frozen=True)
class Findings:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class GrantIndex(Construct):
    """Every grant in the app, by layer version and StatementId."""

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
        self._statement_ids: dict[tuple[str, str], Construct] = {}
        self._policies: dict[str, _LayerVersionPolicy] = {}

    def add(self, grant: GrantFacts) -> Findings:
        findings = Findings()
        arn, statement_id = grant.version_arn, grant.statement_id
        version = f"layer version {quote(arn.value)}" if arn.known else "the same layer version (a token)"
        if statement_id.known:
            first = self._statement_ids.setdefault((arn.value, statement_id.value), grant.construct)
            if first is not grant.construct:
                findings.errors.append(
                    f"{first.node.path} and {grant.construct.node.path} both grant on {version} with "
                    f"statement_id={quote(statement_id.value)}; Lambda keeps one statement per StatementId on a layer "
                    "version, so one would fail or take over the other's statement. Give one of them another "
                    "statement_id (or leave it out for the default)"
                )
        policy = self._policies.setdefault(arn.value, _LayerVersionPolicy(grant.construct))
        before = policy.size
        policy.size += _statement_size(grant) + (1 if policy.grants else 0)
        policy.grants += 1
        if policy.size <= POLICY_LIMIT and not before <= WARN_AT < policy.size:
            return findings
        estimate = (
            f"the {policy.grants} grants this app declares on {version} (the first at {policy.first.node.path}) "
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
                f"{estimate}, past 80% of Lambda's limit of {POLICY_LIMIT:,} bytes for a resource-based policy "
                f"(statements added outside this app count too); {advice}"
            )
        return findings


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
