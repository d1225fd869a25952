"""One Custom::LayerVersionPermission resource driven as CloudFormation drives it, for the lifecycle tests.

A version move is an Update that returns a new PhysicalResourceId, then (once the stack update succeeded) the
cleanup Delete of the replaced copy with its old properties, while CloudFormation's record names the live copy. A
rolled-back update is an Update with the properties swapped, then the cleanup Delete of the copy the failed update
made. A stack Delete is a Delete of the live copy while CloudFormation's record says it is going away.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.cfn_protocol import STACK_ID, cfn_event
from tests.standins import account_statement as lambda_account_statement
from tests.standins import policy_statements

STATEMENT_ID = "share-partner"
PARTNER, OTHER_PARTNER, STRANGER = "223456789012", "334567890123", "445566778899"
ORGANIZATION = "o-a1b2c3d4e5"

Copy = tuple[str, dict[str, str]]  # a copy of the resource: its PhysicalResourceId and its properties


def grant_properties(version_arn: str, statement_id: str = STATEMENT_ID, **overrides: str) -> dict[str, str]:
    """ResourceProperties of a grant to PARTNER, as CloudFormation sends them: every value a string."""
    layer_arn, version = version_arn.rsplit(":", 1)
    return {
        "LayerName": layer_arn,
        "VersionNumber": version,
        "StatementId": statement_id,
        "Principal": PARTNER,
        **overrides,
    }


def send(
    invoke: Any,
    receiver: Any,
    request_type: str,
    properties: dict[str, str],
    live: Copy | None = None,
    timeout: float = 60.0,
    **fields: Any,
) -> dict[str, Any]:
    """Send one event and return the single response CloudFormation received for it, checked against the event.
    `live` names the copy that stays, for a cleanup Delete (see the `invoke` fixture)."""
    event = cfn_event(request_type, "SharePartner", properties, receiver.url(uuid.uuid4().hex), **fields)
    responses = invoke(event, timeout_seconds=timeout, live=live)
    assert len(responses) == 1, f"expected exactly one response, got {[r.body for r in responses]}"
    body: dict[str, Any] = responses[0].body
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        STACK_ID,
        event["RequestId"],
        "SharePartner",
    )
    return body


def account_statement(version_arn: str, statement_id: str = STATEMENT_ID, account: str = PARTNER) -> dict[str, Any]:
    """A grant's statement to one account as Lambda stores it."""
    return lambda_account_statement(version_arn, statement_id, account)


def add_by_hand(lambda_api: Any, version_arn: str, statement_id: str = STATEMENT_ID, principal: str = STRANGER) -> None:
    """A statement a person adds to a layer version's policy, as they would with the AWS CLI."""
    layer_arn, version = version_arn.rsplit(":", 1)
    lambda_api.add_layer_version_permission(
        LayerName=layer_arn,
        VersionNumber=int(version),
        StatementId=statement_id,
        Action="lambda:GetLayerVersion",
        Principal=principal,
    )


def lambda_statement(version_arn: str, account: str = PARTNER) -> dict[str, Any]:
    """The grant's statement as Lambda stores it."""
    return account_statement(version_arn, STATEMENT_ID, account)


def shared(lambda_api: Any, versions: list[str]) -> dict[int, dict[str, Any]]:
    """Every version's statements by Sid, by version number (versions[0] is version 1)."""
    return {number: policy_statements(lambda_api, arn) for number, arn in enumerate(versions, start=1)}


@dataclass
class GrantResource:
    """The resource as CloudFormation tracks it across events: the live copy's ID and properties."""

    invoke: Any
    receiver: Any
    properties: dict[str, str]
    physical_id: str = ""
    responses: list[dict[str, Any]] = field(default_factory=list)

    def send(
        self,
        request_type: str,
        properties: dict[str, str],
        live: Copy | None = None,
        timeout: float = 60.0,
        **fields: Any,
    ) -> dict[str, Any]:
        """One complete event; its single response, checked against the event."""
        response = send(self.invoke, self.receiver, request_type, properties, live, timeout, **fields)
        self.responses.append(response)
        return response

    def create(self) -> dict[str, Any]:
        response = self.send("Create", self.properties)
        self.physical_id = response["PhysicalResourceId"]
        return response

    def update(self, version_arn: str | None = None, **changes: str) -> tuple[Copy, dict[str, Any]]:
        """An Update to a version and/or other properties (see `change`)."""
        moved = grant_properties(version_arn) if version_arn else {}
        located = {name: moved[name] for name in ("LayerName", "VersionNumber") if name in moved}
        return self.change({**self.properties, **located, **changes})

    def change(self, properties: dict[str, str]) -> tuple[Copy, dict[str, Any]]:
        """An Update to these properties; returns the copy it replaced and the response. A FAILED Update leaves
        the resource as it was, as CloudFormation does."""
        replaced = (self.physical_id, self.properties)
        response = self.send("Update", properties, physical_id=replaced[0], old_properties=replaced[1])
        if response["Status"] == "SUCCESS":
            self.physical_id, self.properties = response["PhysicalResourceId"], properties
        return replaced, response

    def replaced_by_update(self, replaced: Copy) -> bool:
        return self.physical_id != replaced[0]

    def cleanup(self, replaced: Copy, timeout: float = 60.0) -> dict[str, Any]:
        """CloudFormation's cleanup Delete of a replaced copy: its record names the live copy."""
        return self.send(
            "Delete", replaced[1], live=(self.physical_id, self.properties), timeout=timeout, physical_id=replaced[0]
        )

    def move(self, version_arn: str, **changes: str) -> None:
        """A successful stack update: the Update, then the cleanup Delete of the replaced copy."""
        replaced, response = self.update(version_arn, **changes)
        assert response["Status"] == "SUCCESS", response["Reason"]
        if self.replaced_by_update(replaced):
            assert self.cleanup(replaced)["Status"] == "SUCCESS"

    def roll_back(self, replaced: Copy) -> None:
        """A stack update that failed after this resource's Update: the Update with the properties swapped, then the
        cleanup Delete of the copy the failed update made, if it made one."""
        failed = (self.physical_id, self.properties)
        response = self.send("Update", replaced[1], physical_id=failed[0], old_properties=failed[1])
        assert response["Status"] == "SUCCESS", response["Reason"]
        self.physical_id, self.properties = response["PhysicalResourceId"], replaced[1]
        if failed[0] != self.physical_id:
            assert self.cleanup(failed)["Status"] == "SUCCESS"

    def delete(self, timeout: float = 60.0) -> dict[str, Any]:
        """The resource goes away (a stack Delete, or its removal from the template)."""
        return self.send("Delete", self.properties, timeout=timeout, physical_id=self.physical_id)
