"""CloudFormation's part in deploying grant resources: complete events, exactly one response each.

Each event goes to the handler process of the grant's stack, with a ResponseURL on the local receiver, and
its one response is read back, as CloudFormation reads the PUT to its presigned URL.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from layer_share_handler.rules import CLOUDFORMATION_PROPERTIES, GRANT_METADATA, RESOURCE_TYPE

from ..grants import DeclaredGrant, HandlerCode, StackScope
from .lambda_runtime import HandlerCrashed, HandlerProcess
from .receiver import ResponseReceiver
from .standin import LambdaStandIn, StackResourceRecord


class DeployFailed(Exception):
    """A response was FAILED or never came; CloudFormation would stop and roll back here."""


def event(
    request_type: str,
    logical_id: str,
    properties: Mapping[str, str],
    response_url: str,
    *,
    stack_id: str,
    service_token: str,
    physical_id: str | None = None,
    old_properties: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A complete event as CloudFormation sends it: every property value a string, ServiceToken included."""
    sent: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": RESOURCE_TYPE,
        "ResourceProperties": {"ServiceToken": service_token, **properties},
    }
    if physical_id is not None:
        sent["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        sent["OldResourceProperties"] = {"ServiceToken": service_token, **old_properties}
    return sent


def stack_record(status: str, physical_id: str | None, properties: Mapping[str, str]) -> StackResourceRecord:
    """What DescribeStackResource answers of a grant resource in `status`: its ID, and the Metadata in which the
    construct repeats its properties (CloudFormation resolves the intrinsics in it)."""
    declared = {name: value for name, value in properties.items() if name not in CLOUDFORMATION_PROPERTIES}
    record = {"ResourceStatus": status, "Metadata": json.dumps({GRANT_METADATA: declared})}
    return record if physical_id is None else {**record, "PhysicalResourceId": physical_id}


def record_for_event(sent: Mapping[str, Any], live: tuple[str, Mapping[str, str]] | None = None) -> StackResourceRecord:
    """CloudFormation's record of the resource while it sends `sent` (the reference's cloudformation-phases.md).

    `live` is the ID and properties of the copy that stays, for the cleanup Delete of a replaced or rolled-back
    copy; without it a Delete is of a resource going away (removed, its Create rolled back, or its stack deleted).
    """
    properties = sent["ResourceProperties"]
    if sent["RequestType"] == "Create":
        return stack_record("CREATE_IN_PROGRESS", None, properties)
    if sent["RequestType"] == "Update":
        return stack_record("UPDATE_IN_PROGRESS", sent["PhysicalResourceId"], properties)
    if live is not None:
        return stack_record("UPDATE_COMPLETE", live[0], live[1])
    return stack_record("DELETE_IN_PROGRESS", sent["PhysicalResourceId"], properties)


@dataclass(frozen=True)
class Deployed:
    """A grant resource as the stack records it: its properties and the PhysicalResourceId its handler returned."""

    grant: DeclaredGrant
    physical_id: str


@dataclass(frozen=True)
class Function:
    """The handler function that receives a stack's events."""

    code: HandlerCode
    arn: str
    scope: StackScope


class CloudFormation:
    """Sends grant events to their stack's handler, one at a time, and reads each response.

    CloudFormation would send independent events at once; one at a time keeps the output in template order,
    and measured faster here (bench/TRY_RESULTS.md): each extra execution environment costs a start-up.
    """

    def __init__(self, standin: LambdaStandIn, receiver: ResponseReceiver) -> None:
        self._standin = standin
        self._receiver = receiver
        self._processes: dict[tuple[HandlerCode, str, str], HandlerProcess] = {}
        self.events = 0
        self.event_seconds = 0.0  # from sending each event to reading its response, summed over events

    def create(self, grant: DeclaredGrant) -> Deployed:
        _check_role(grant, "Create")
        body = self._send("Create", function_of(grant), grant.logical_id, grant.properties)
        return Deployed(grant, body["PhysicalResourceId"])

    def update(self, deployed: Deployed, grant: DeclaredGrant) -> Deployed:
        """An Update; the handler's PhysicalResourceId says whether it was in place or a replacement."""
        _check_role(grant, "Update")
        body = self._send(
            "Update",
            function_of(grant),
            grant.logical_id,
            grant.properties,
            physical_id=deployed.physical_id,
            old_properties=deployed.grant.properties,
        )
        return Deployed(grant, body["PhysicalResourceId"])

    def delete(self, deployed: Deployed, function: Function, live: Deployed | None = None) -> None:
        """A Delete carries the properties the resource was last deployed with. `live` is the copy that replaced
        it, for a cleanup Delete; without it the resource is going away."""
        grant = deployed.grant
        stays = None if live is None else (live.physical_id, dict(live.grant.properties))
        self._send("Delete", function, grant.logical_id, grant.properties, live=stays, physical_id=deployed.physical_id)

    def close(self) -> None:
        for process in self._processes.values():
            process.close()

    def _send(
        self,
        request_type: str,
        function: Function,
        logical_id: str,
        properties: Mapping[str, str],
        live: tuple[str, Mapping[str, str]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        name = uuid.uuid4().hex
        sent = event(
            request_type,
            logical_id,
            properties,
            self._receiver.url(name),
            stack_id=function.scope.stack_id,
            service_token=function.arn,
            **fields,
        )
        where = f"{request_type} {function.scope.path}/{logical_id}"
        self._standin.record_stack_resource(sent["StackId"], logical_id, record_for_event(sent, live))
        process = self._process(function)
        started = time.perf_counter()
        try:
            process.invoke(sent, function.arn, function.code.timeout)
        except HandlerCrashed as crash:
            raise DeployFailed(f"{where}: {crash}") from None
        responses = self._receiver.responses_for(name)
        self.events += 1
        self.event_seconds += time.perf_counter() - started
        if len(responses) != 1:
            raise DeployFailed(f"{where}: {len(responses)} responses instead of one\n{process.log_tail()}")
        body = responses[0].body
        if body.get("Status") != "SUCCESS":
            raise DeployFailed(f"{where} FAILED: {body.get('Reason')}")
        return body

    def _process(self, function: Function) -> HandlerProcess:
        """The function's execution environment in its account and region, started on first use."""
        scope = function.scope
        key = (function.code, scope.account, scope.region)
        if key not in self._processes:
            environment = {
                **self._standin.handler_environment(scope.account, scope.region),
                "SSL_CERT_FILE": self._receiver.ca_file,
            }
            self._processes[key] = HandlerProcess(function.code.asset_dir, function.code.handler, environment)
        return self._processes[key]


def _check_role(grant: DeclaredGrant, request_type: str) -> None:
    """The embedded Lambda checks no IAM: answer as the handler would once Lambda denied its call."""
    requested = grant.requested()
    if grant.role_allows is None or requested is None or grant.role_allows.allows(requested[0].arn):
        return
    raise DeployFailed(
        f"{request_type} {grant.path} FAILED: AccessDeniedException: the handler's role is not authorized to perform "
        f"lambda:AddLayerVersionPermission on resource: {requested[0].arn} (no statement of its policies in the "
        "template allows it)"
    )


def function_of(grant: DeclaredGrant) -> Function:
    return Function(grant.handler, grant.function_arn, grant.scope)
