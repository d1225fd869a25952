"""Lambda's layer version policy statement: the one model of its shape, for the handler and every tool.

Lambda stores a grant to an account as `{"AWS": "arn:<partition>:iam::<account>:root"}` whether the request
named the account ID or its root ARN, a public or organization grant as the bare `"*"`, and an organization as
a `StringEquals` condition on `aws:PrincipalOrgID` (see the example response in the API reference).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .physical_id import LayerVersion
from .rules import ACCOUNT_ROOT, ALL_ACCOUNTS, GET_LAYER_VERSION, GrantProperties

_ACCOUNT_ROOT = re.compile(ACCOUNT_ROOT, re.ASCII)
_ORGANIZATION_CONDITION = "aws:PrincipalOrgID"


def account_or_star(principal: str) -> str:
    """The account ID of an account root ARN; an account ID or '*' as it is."""
    root = _ACCOUNT_ROOT.fullmatch(principal)
    return root[1] if root else principal


@dataclass(frozen=True)
class GrantStatement:
    """What one statement grants, whichever way the principal was written: compare these, not raw statements."""

    statement_id: str
    principal: str  # a 12-digit account ID, or '*'
    organization_id: str | None = None
    action: str = GET_LAYER_VERSION

    @classmethod
    def requested(cls, request: GrantProperties) -> GrantStatement:
        return cls(request.statement_id, account_or_star(request.principal), request.organization_id, request.action)

    @classmethod
    def from_policy(cls, statement: Mapping[str, Any]) -> GrantStatement | None:
        """Read a statement of a layer version policy; None for anything that is not an Allow grant of this shape."""
        principal = statement.get("Principal")
        if isinstance(principal, Mapping) and len(principal) == 1:
            principal = principal.get("AWS")
        action = statement.get("Action")
        if isinstance(action, list) and len(action) == 1:
            action = action[0]
        sid = statement.get("Sid")
        if not (isinstance(principal, str) and isinstance(action, str) and isinstance(sid, str)):
            return None
        if statement.get("Effect", "Allow") != "Allow":
            return None
        conditions = statement.get("Condition") or {}
        equals = conditions.get("StringEquals") or {} if isinstance(conditions, Mapping) else None
        if not isinstance(equals, Mapping):  # a condition of a shape Lambda never writes for a layer grant
            return None
        organization_id = equals.get(_ORGANIZATION_CONDITION)
        return cls(sid, account_or_star(principal), organization_id, action)

    def policy_statement(self, layer_version: LayerVersion) -> dict[str, Any]:
        """The statement as Lambda stores and returns it."""
        statement: dict[str, Any] = {
            "Sid": self.statement_id,
            "Effect": "Allow",
            "Principal": (
                ALL_ACCOUNTS
                if self.principal == ALL_ACCOUNTS
                else {"AWS": f"arn:{layer_version.partition}:iam::{self.principal}:root"}
            ),
            "Action": self.action,
            "Resource": layer_version.arn,
        }
        if self.organization_id is not None:
            statement["Condition"] = {"StringEquals": {_ORGANIZATION_CONDITION: self.organization_id}}
        return statement
