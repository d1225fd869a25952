"""What the handler's role may do, as the template grants it: which layer version ARNs its policies allow
`lambda:AddLayerVersionPermission` on. `try` answers FAILED where IAM would deny the handler's call, which the
embedded Lambda does not check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .template import StackValues, Unresolvable, resolve

ADD_PERMISSION = "lambda:AddLayerVersionPermission"
# IAM's escapes for a literal *, ? and $ in a resource ARN (the construct writes them for a layer ARN token).
_ESCAPES = {"${*}": r"\*", "${?}": r"\?", "${$}": r"\$"}
_PATTERN_PART = re.compile(r"\$\{[*?$]\}|\*|\?|[^*?$]+|\$")


@dataclass(frozen=True)
class RoleAllows:
    """The resource patterns of the role's Allow statements for AddLayerVersionPermission."""

    patterns: tuple[str, ...]

    def allows(self, layer_version_arn: str) -> bool:
        return any(_as_regex(pattern).fullmatch(layer_version_arn) for pattern in self.patterns)


def role_allows(function: Mapping[str, Any], resources: Mapping[str, Any], values: StackValues) -> RoleAllows | None:
    """What the function's role allows, from the role's inline policies and the stack's policies attached to it;
    None when the template does not say it all (a role from elsewhere, or a managed policy of another stack)."""
    match function.get("Properties", {}).get("Role"):
        case {"Fn::GetAtt": [str() as role_id, "Arn"]}:
            pass
        case _:
            return None
    role = resources.get(role_id, {})
    properties = role.get("Properties", {})
    documents = [policy.get("PolicyDocument", {}) for policy in properties.get("Policies", [])]
    for managed in properties.get("ManagedPolicyArns", []):
        match managed:
            case {"Ref": str() as policy_id} if resources.get(policy_id, {}).get("Type") == "AWS::IAM::ManagedPolicy":
                documents.append(resources[policy_id]["Properties"].get("PolicyDocument", {}))
            case _:
                return None
    for resource in resources.values():
        if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            attached = resource.get("Properties", {}).get("Roles", [])
            if {"Ref": role_id} in attached:
                documents.append(resource["Properties"].get("PolicyDocument", {}))
    try:
        patterns = [pattern for document in documents for pattern in _allowed(document, values)]
    except Unresolvable:
        return None
    return RoleAllows(tuple(patterns))


def _allowed(document: Mapping[str, Any], values: StackValues) -> list[str]:
    patterns = []
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        allows_adding = any(_as_regex(str(action), ignore_case=True).fullmatch(ADD_PERMISSION) for action in actions)
        if statement.get("Effect") != "Allow" or not allows_adding:
            continue
        targets = resolve(statement.get("Resource", []), values, "the handler role's policy")
        patterns += [str(target) for target in (targets if isinstance(targets, list) else [targets])]
    return patterns


def _as_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's wildcard matching: * any run of characters, ? one, and the ${*} escapes literal; action names
    ignore case, resource ARNs do not."""
    parts = []
    for part in _PATTERN_PART.findall(pattern):
        if part in _ESCAPES:
            parts.append(_ESCAPES[part])
        elif part == "*":
            parts.append(".*")
        elif part == "?":
            parts.append(".")
        else:
            parts.append(re.escape(part))
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)
