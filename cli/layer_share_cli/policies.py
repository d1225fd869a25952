"""Read layer version policies as grants: (layer version, GrantStatement) pairs, compared with the handler's model."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from layer_share_handler.physical_id import LayerVersion
from layer_share_handler.rules import ALL_ACCOUNTS
from layer_share_handler.statement import GrantStatement

NO_POLICY = "No policy is associated with the given resource."  # Lambda's message for a layer version without one


@dataclass(frozen=True)
class VersionStatement:
    """One statement on one layer version."""

    layer_version: LayerVersion
    statement: GrantStatement

    @property
    def public(self) -> bool:
        """Every AWS account may use the layer version."""
        return self.statement.principal == ALL_ACCOUNTS and self.statement.organization_id is None

    def sort_key(self) -> tuple[str, int, str]:
        return (self.layer_version.layer_arn, self.layer_version.version, self.statement.statement_id)


def policy_statements(client: Any, layer_version: LayerVersion) -> list[dict[str, Any]]:
    """The layer version's statements as Lambda returns them; none when it has no policy."""
    try:
        policy = client.get_layer_version_policy(LayerName=layer_version.layer_arn, VersionNumber=layer_version.version)
    except client.exceptions.ResourceNotFoundException as error:
        # The same code means the layer version does not exist; that is an answer of another kind.
        if error.response["Error"].get("Message") == NO_POLICY:
            return []
        raise
    return parse_policy(policy.get("Policy"), layer_version)


class MalformedPolicy(Exception):
    """A layer version policy of a shape Lambda never returns."""


def parse_policy(text: Any, layer_version: LayerVersion) -> list[dict[str, Any]]:
    """The statements of a policy document, each checked to have the shape Lambda documents: a JSON object whose
    Statement is a list of objects, each Condition an object of objects."""
    where = f"the policy of {layer_version.arn}"
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise MalformedPolicy(f"{where} is not a JSON object; expected Lambda's policy document")
    statements = document.get("Statement", [])
    if not isinstance(statements, list) or not all(isinstance(statement, dict) for statement in statements):
        raise MalformedPolicy(f"{where} has a Statement that is not a list of objects, as Lambda returns it")
    for statement in statements:
        condition = statement.get("Condition", {})
        if not isinstance(condition, dict) or not all(isinstance(test, dict) for test in condition.values()):
            raise MalformedPolicy(f"{where}: the Condition of {statement.get('Sid')!r} is not an object of objects")
    return statements


def read_grants(client_for: Any, layer_versions: Iterable[LayerVersion]) -> set[VersionStatement]:
    """Every grant on these layer versions; `client_for(layer_version)` gives a Lambda client for its account."""
    found = set()
    for layer_version in layer_versions:
        for statement in policy_statements(client_for(layer_version), layer_version):
            parsed = GrantStatement.from_policy(statement)
            if parsed is None:
                raise ValueError(f"a statement on {layer_version.arn} is not a layer grant: {json.dumps(statement)}")
            found.add(VersionStatement(layer_version, parsed))
    return found
