"""What is wrong with a construct's props, found while it is built and reported by `cdk synth`, all at once.

Concrete values are checked with the handler's own rules; a token is left to the handler at deploy time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import RemovalPolicy, Token

from constructs import IValidation
from layer_share_handler.rules import (
    ALL_ACCOUNTS,
    MAX_KEEP_VERSIONS,
    keep_versions_problem,
    organization_problem,
    property_problem,
    quote,
)
from layer_share_handler.statement import account_or_star

ARN_SHAPE = "arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>"


@dataclass(frozen=True)
class Prop:
    """A prop as given, and whether its value is known at synth time (Token.is_unresolved, asked once per value)."""

    name: str
    value: Any
    known: bool

    @classmethod
    def read(cls, name: str, value: Any) -> Prop:
        return cls(name, value, not Token.is_unresolved(value))


@jsii.implements(IValidation)
class Problems:
    """A construct's problems, for node.add_validation: CDK lists them with the construct's path at synth."""

    def __init__(self, construct_type: str, problems: Sequence[str]) -> None:
        self._problems = [f"{construct_type}: {problem}" for problem in problems]

    def validate(self) -> list[str]:
        return self._problems


def rule_problem(prop: Prop, cfn_name: str) -> str | None:
    """Check a concrete value with the handler's rule for its property; a token is checked at deploy time."""
    if not prop.known:
        return None
    problem = property_problem(cfn_name, prop.value)
    return None if problem is None else f"{prop.name}={quote(prop.value)} is invalid: {problem}"


def layer_problems(arn: Prop) -> list[str]:
    """What is wrong with the ARN of the layer version a construct names."""
    if not arn.known:
        return []
    if not isinstance(arn.value, str) or not arn.value.startswith("arn:") or arn.value.count(":") != 7:
        return [f"{arn.name}={quote(arn.value)} is not a layer version ARN; expected {ARN_SHAPE}"]
    layer_arn, _, version = arn.value.rpartition(":")
    return [
        f"{arn.name}={quote(arn.value)} is invalid: {problem}"
        for problem in (property_problem("LayerName", layer_arn), property_problem("VersionNumber", version))
        if problem is not None
    ]


def account_problem(arn: Prop, stack_account: str | None, stack_path: str) -> str | None:
    """Only the owner may change a layer's policy: the grant's stack must deploy to the layer's account."""
    if stack_account is None or not arn.known:
        return None
    layer_account = arn.value.split(":")[4]
    if layer_account == stack_account:
        return None
    return (
        f"{arn.name}={quote(arn.value)} belongs to account {layer_account}, but stack {stack_path} deploys to "
        f"account {stack_account}; only the layer's owner may share it, so declare this grant in a stack deployed "
        f"to account {layer_account}"
    )


def grant_problems(
    principal: Prop, organization_id: Prop | None, statement_id: Prop, allow_all_accounts: bool
) -> list[str]:
    problems = [
        rule_problem(principal, "Principal"),
        None if organization_id is None else rule_problem(organization_id, "OrganizationId"),
        rule_problem(statement_id, "StatementId"),
    ]
    organization = None if organization_id is None else organization_id.value
    if organization is not None and principal.known:
        mismatch = organization_problem(principal.value, organization)
        problems.append(None if mismatch is None else f"organization_id={quote(organization)}: {mismatch}")
    public = principal.value == ALL_ACCOUNTS and organization is None
    if public and not allow_all_accounts:
        problems.append(
            "principal='*' without organization_id grants every AWS account the right to use this layer version; "
            "pass allow_all_accounts=True if that is intended, or organization_id='o-...' to share with one "
            "organization only"
        )
    if allow_all_accounts and not public and principal.known:
        problems.append(
            f"allow_all_accounts=True applies only to principal='*' without organization_id, got "
            f"principal={quote(principal.value)} and organization_id={quote(organization)}; remove allow_all_accounts"
        )
    return [problem for problem in problems if problem is not None]


def retention_problems(keep_versions: Any) -> list[str]:
    """keep_versions counts versions: a whole number from 1, or None for every version."""
    if keep_versions is None:
        return []
    problem = keep_versions_problem(keep_versions)
    if problem is None and isinstance(keep_versions, int):
        return []
    return [
        f"keep_versions={quote(keep_versions)} is invalid: it counts the layer's newest versions that keep the grant, "
        f"1 to {MAX_KEEP_VERSIONS} (1 revokes the old version's grant at each new version), or None for every version"
    ]


def removal_policy_problems(removal_policy: Any) -> list[str]:
    """What deleting a grant can do: revoke it (DESTROY) or keep it (RETAIN). A grant has no snapshot, and
    `layer-share try` models these two only."""
    if removal_policy in (RemovalPolicy.DESTROY, RemovalPolicy.RETAIN):
        return []
    given = (
        f"RemovalPolicy.{removal_policy.name}" if isinstance(removal_policy, RemovalPolicy) else quote(removal_policy)
    )
    return [
        f"removal_policy={given} does not apply to a grant, which has nothing to snapshot; use "
        "RemovalPolicy.DESTROY to revoke the grant when it is deleted, or RemovalPolicy.RETAIN to keep it"
    ]


def list_problems(prop: str, cfn_name: str, values: Sequence[str]) -> list[str]:
    """What is wrong with each entry of LayerVersionSharing's `accounts` or `organization_ids`."""
    if isinstance(values, str):
        return [f"{prop} must be a list, got the string {quote(values)}; write [{quote(values)}]"]
    problems = []
    for index, value in enumerate(values):
        label = f"{prop}[{index}]"
        entry = Prop.read(label, value)
        if not entry.known:
            problems.append(
                f"{label} is a token, but each grant is named after its principal, so the value must be known at "
                "synth time; use LayerVersionPermission for a principal known only at deploy time"
            )
        elif value == ALL_ACCOUNTS and cfn_name == "Principal":
            problems.append(
                f"{label}='*' would share with every AWS account; use "
                "LayerVersionPermission(principal='*', allow_all_accounts=True) if that is intended"
            )
        elif (problem := rule_problem(entry, cfn_name)) is not None:
            problems.append(problem)
    # An account ID and its root ARN are one principal to Lambda.
    spellings: dict[Any, list[Any]] = {}
    for value in values:
        principal = cfn_name == "Principal" and isinstance(value, str)
        spellings.setdefault(account_or_star(value) if principal else value, []).append(value)
    return problems + [
        f"{prop} lists {quote(same[0])} more than once"
        if len(set(same)) == 1
        else f"{prop} lists account {grantee} more than once, as {' and '.join(quote(value) for value in same)}, "
        "which Lambda stores alike; list it once"
        for grantee, same in spellings.items()
        if len(same) > 1
    ]
