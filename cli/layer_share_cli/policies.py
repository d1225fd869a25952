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
class PolicyGrant:
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
    statements: list[dict[str, Any]] = json.loads(policy["Policy"]).get("Statement", [])
    return statements


def read_grants(client_for: Any, layer_versions: Iterable[LayerVersion]) -> set[PolicyGrant]:
    """Every grant on these layer versions; `client_for(layer_version)` gives a Lambda client for its account."""
    found = set()
    for layer_version in layer_versions:
        for statement in policy_statements(client_for(layer_version), layer_version):
            parsed = GrantStatement.from_policy(statement)
            if parsed is None:
                raise ValueError(f"a statement on {layer_version.arn} is not a layer grant: {json.dumps(statement)}")
            found.add(PolicyGrant(layer_version, parsed))
    return found
