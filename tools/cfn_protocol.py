"""CloudFormation's side of the custom resource protocol: complete events and a Lambda context."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from tools.standins import ACCOUNT, FUNCTION_ARN, REGION

STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/shared-layers/5b3a1e60-8c1d-11ef-9d2e-0a1b2c3d4e5f"
SERVICE_TOKEN = FUNCTION_ARN


@dataclass
class LambdaContext:
    """The parts of Lambda's context object a handler uses; remaining time counts down for real."""

    timeout_seconds: float = 60.0
    invoked_function_arn: str = FUNCTION_ARN
    function_name: str = FUNCTION_ARN.rsplit(":", 1)[-1]
    memory_limit_in_mb: int = 128

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._ends_at = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends_at - time.monotonic()) * 1000))


def cfn_event(
    request_type: str,
    logical_id: str,
    properties: dict[str, Any],
    response_url: str,
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete event as CloudFormation sends it: every property value a string, ServiceToken included."""
    event = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": response_url,
        "StackId": STACK_ID,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": "Custom::LayerVersionPermission",
        "ResourceProperties": {"ServiceToken": SERVICE_TOKEN, "ServiceTimeout": "300", **properties},
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = {"ServiceToken": SERVICE_TOKEN, "ServiceTimeout": "300", **old_properties}
    return event
