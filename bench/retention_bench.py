"""Retention's cost: the requests and latency of a version move and of a stack's Delete, by versions kept.

For each `keep_versions` (None keeps every version, the construct's default), a grant is created on version 1 of a
fresh layer and moved version by version (each move an Update, then CloudFormation's cleanup Delete of the replaced
grant, while CloudFormation's record names the live copy) until the window is full and one version falls out at
each move. The last move and the final Delete are measured: every request the handler's Lambda and CloudFormation
clients sent, and each event's time through the real entry point, in this process, unthrottled.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from bench.lambda_layers import grant_properties
from bench.measure import LambdaRequests
from layer_share_cli.emulator.cloudformation import record_for_event
from layer_share_cli.emulator.receiver import ResponseReceiver
from layer_share_cli.emulator.standin import LambdaStandIn
from tests.cfn_protocol import LambdaContext, cfn_event
from tests.standins import REGION, policy_statements, publish_layer

PARTNER = "223456789012"


@dataclass(frozen=True)
class Measured:
    """One measured step: its events' requests by operation, and its time from the first event to the last answer."""

    step: str
    keep_versions: int | None
    versions: int  # of the layer, all existing
    requests: dict[str, int]
    seconds: float
    statuses: list[str]
    shared_after: list[int]  # the versions whose policy holds the grant's statement afterwards


def run(
    receiver: ResponseReceiver, api: Any, standin: LambdaStandIn, kept: tuple[int | None, ...]
) -> list[dict[str, Any]]:
    from layer_share_handler import entry

    requests = LambdaRequests(entry.lambda_client(REGION), entry.cloudformation_client(REGION))
    return [asdict(measured) for keep in kept for measured in _lifecycle(receiver, api, standin, requests, keep)]


def _lifecycle(
    receiver: ResponseReceiver, api: Any, standin: LambdaStandIn, requests: LambdaRequests, keep: int | None
) -> list[Measured]:
    from layer_share_handler import entry

    name = f"retained-{uuid.uuid4().hex[:10]}"
    versions = [publish_layer(api, name) for _ in range((keep or 3) + 2)]

    def properties(version_arn: str) -> dict[str, str]:
        return {
            **grant_properties(version_arn, "share", PARTNER),
            **({"KeepVersions": str(keep)} if keep is not None else {}),
            "RevokeRetainedOnDelete": "true",
        }

    def send(request_type: str, props: dict[str, str], live: Any = None, **fields: Any) -> dict[str, Any]:
        url = uuid.uuid4().hex
        event = cfn_event(request_type, "Share", props, receiver.url(url), **fields)
        standin.record_stack_resource(event["StackId"], "Share", record_for_event(event, live))
        entry.handler(event, LambdaContext(60))
        (response,) = receiver.responses_for(url)
        return response.body

    def measured(step: str, events: list[tuple[str, dict[str, str], dict[str, Any]]]) -> tuple[Measured, list]:
        """Each event in turn; the cleanup Delete of a move names the live copy the Update made."""
        requests.take()
        started = time.perf_counter()
        bodies: list[dict[str, Any]] = []
        for request_type, props, fields in events:
            live = (bodies[0]["PhysicalResourceId"], events[0][1]) if request_type == "Delete" and bodies else None
            bodies.append(send(request_type, props, live, **fields))
        seconds = time.perf_counter() - started
        shared = [number for number, arn in enumerate(versions, 1) if "share" in policy_statements(api, arn)]
        result = Measured(
            step,
            keep,
            len(versions),
            dict(Counter(requests.take())),
            seconds,
            [body["Status"] for body in bodies],
            shared,
        )
        return result, bodies

    current = properties(versions[0])
    physical_id = send("Create", current)["PhysicalResourceId"]
    results = []
    for number, version_arn in enumerate(versions[1:], start=2):
        moved = properties(version_arn)
        move = [
            ("Update", moved, {"physical_id": physical_id, "old_properties": current}),
            ("Delete", current, {"physical_id": physical_id}),
        ]
        result, bodies = measured("move", move)
        physical_id, current = bodies[0]["PhysicalResourceId"], moved
        if number == len(versions):
            results.append(result)
    final, _ = measured("stack delete", [("Delete", current, {"physical_id": physical_id})])
    return [*results, final]
