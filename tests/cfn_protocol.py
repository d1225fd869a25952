"""CloudFormation's side of the protocol for tests that drive the handler in this process: one stack, one function."""

from __future__ import annotations

from typing import Any

from layer_share_cli.emulator import cloudformation, lambda_runtime
from tests.standins import ACCOUNT, FUNCTION_ARN, REGION

STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/shared-layers/5b3a1e60-8c1d-11ef-9d2e-0a1b2c3d4e5f"
SERVICE_TOKEN = FUNCTION_ARN


class LambdaContext(lambda_runtime.LambdaContext):
    """The test function's context; the remaining time counts down for real."""

    def __init__(self, timeout_seconds: float = 60.0) -> None:
        super().__init__(FUNCTION_ARN, timeout_seconds)


def cfn_event(
    request_type: str,
    logical_id: str,
    properties: dict[str, Any],
    response_url: str,
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete event of the test stack, as CloudFormation sends it (ServiceTimeout included)."""
    return cloudformation.event(
        request_type,
        logical_id,
        {"ServiceTimeout": "300", **properties},
        response_url,
        stack_id=STACK_ID,
        service_token=SERVICE_TOKEN,
        physical_id=physical_id,
        old_properties=None if old_properties is None else {"ServiceTimeout": "300", **old_properties},
    )
