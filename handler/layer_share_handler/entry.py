"""Lambda entry point: crhelper's request flow, with the defaults that hurt a permission resource replaced.

- a fresh helper per event, so no state leaks from one invocation into the next;
- no sleep on Delete, no polling, INFO logging, and never the ResponseURL or the raw event in the logs;
- exactly one response per event, with bounded, status-checked delivery;
- a PhysicalResourceId on failure that the rollback Delete can act on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config
from crhelper import FAILED, CfnResource

from .permissions import Deadline, OperationFailed, grant, revoke, update_in_place
from .physical_id import LayerVersion, build_not_granted_id, build_physical_id, layer_version_for, parse_physical_id
from .protocol import CloudFormationEvent, CloudFormationResponse, LambdaContext
from .response import DELIVERY_BUDGET, deliver, encode_within_limit
from .rules import InvalidProperties, PermissionRequest, event_problem, parse_properties

if TYPE_CHECKING:
    from types_boto3_lambda.client import LambdaClient

logger = logging.getLogger(__name__)
# crhelper logs the raw event, ResponseURL included, at DEBUG: keep its loggers above that.
logging.getLogger("crhelper").setLevel(logging.INFO)

API_CONNECT_TIMEOUT = 2  # seconds
API_READ_TIMEOUT = 8  # seconds
# An API call may start only while its worst case, then a response delivery, still fits
# before crhelper's own timeout timer (remaining time minus 0.5 s).
_RESERVED_SECONDS = API_CONNECT_TIMEOUT + API_READ_TIMEOUT + DELIVERY_BUDGET + 1

_client_lock = threading.Lock()


def handler(event: Any, context: LambdaContext) -> None:
    """Answer one CloudFormation custom resource event for Custom::LayerVersionPermission."""
    _Invocation()(event, context)


@cache
def _cached_client(region: str) -> LambdaClient:
    client = boto3.session.Session().client(
        "lambda",
        region_name=region,
        # Retries are ours (permissions.py), bounded by the handler's deadline.
        config=Config(
            connect_timeout=API_CONNECT_TIMEOUT, read_timeout=API_READ_TIMEOUT, retries={"total_max_attempts": 1}
        ),
    )
    client.meta.events.register("after-call.lambda", _log_call)
    client.meta.events.register("after-call-error.lambda", _log_call_error)
    return client


def lambda_client(region: str) -> LambdaClient:
    """One client per region; creating boto3 clients is not thread-safe."""
    with _client_lock:
        return _cached_client(region)


def _log_call(http_response: Any, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
    error = parsed.get("Error", {}).get("Code")
    logger.info("Lambda %s: HTTP %s%s", model.name, http_response.status_code, f" {error}" if error else "")


def _log_call_error(exception: Exception, context: Mapping[str, Any], **_: Any) -> None:
    logger.info("Lambda call failed without an answer: %s", type(exception).__name__)


def _requested_grant(event: CloudFormationEvent, context: LambdaContext) -> tuple[PermissionRequest, LayerVersion]:
    """The validated properties, and the layer version they name (a bare name is in the function's account)."""
    request = parse_properties(event["ResourceProperties"])
    return request, layer_version_for(request.layer_name, request.version_number, context.invoked_function_arn)


class _Invocation(CfnResource):
    """One event. Handlers return the PhysicalResourceId and set `Data`, as crhelper expects; they set
    `_fallback_physical_id` to what a failure or timeout must answer with."""

    def __init__(self) -> None:
        super().__init__(log_level="INFO", boto_level="ERROR", sleep_on_delete=0)
        self._responded = False
        self._response_lock = threading.Lock()
        self._fallback_physical_id = ""
        self.Data: dict[str, str] = {}
        self.create(self._on_create)
        self.update(self._on_update)
        self.delete(self._on_delete)

    # crhelper's stubs leave out its private hooks; these overrides are the whole of the wiring.

    def _crhelper_init(self, event: Any, context: LambdaContext) -> bool:
        if not isinstance(event, Mapping):
            logger.error("The event is not a JSON object; there is no ResponseURL to answer")
            return False
        # Set before any check, so that a malformed event is answered at its own ResponseURL.
        # Typed as what event_problem checks below; no handler runs unless the check passes.
        self._event, self._context = cast(CloudFormationEvent, event), context
        self._response_url = event.get("ResponseURL")
        self.StackId, self.RequestId, self.LogicalResourceId = (
            _string_field(event, name) for name in ("StackId", "RequestId", "LogicalResourceId")
        )
        physical_id = _string_field(event, "PhysicalResourceId")
        self._fallback_physical_id = physical_id or build_not_granted_id(self.RequestId)
        logger.info(
            "%s %s, PhysicalResourceId %s", event.get("RequestType"), self.LogicalResourceId, physical_id or "(none)"
        )
        problem = event_problem(event)
        if problem is not None:
            self.PhysicalResourceId = self._fallback_physical_id
            self._send(FAILED, f"Malformed CloudFormation event: {problem}")
            return False
        return bool(super()._crhelper_init(event, context))  # type: ignore[misc]

    def _wrap_function(self, func: Callable[[CloudFormationEvent, LambdaContext], str]) -> None:
        try:
            self.PhysicalResourceId = func(self._event, self._context)
            return
        except (InvalidProperties, OperationFailed) as failure:
            self.Reason = str(failure)
        except Exception as error:  # a bug must still be answered, never left to time out
            logger.exception("Unexpected error")
            self.Reason = f"Unexpected {type(error).__name__}: {error}"
        logger.error("%s failed: %s", self._event["RequestType"], self.Reason)
        self.Status, self.Data = FAILED, {}
        self.PhysicalResourceId = self._fallback_physical_id

    def _timeout(self) -> None:
        self.PhysicalResourceId = self._fallback_physical_id
        self._send(FAILED, "The handler ran out of time before Lambda answered; the outcome is unknown")

    def _send(self, status: str | None = None, reason: str = "", send_response: object = None) -> None:
        with self._response_lock:
            if self._responded:
                logger.warning("A response was already sent for this event; not sending another")
                return
            self._responded = True
        body: CloudFormationResponse = {
            "Status": "FAILED" if (status or self.Status) == FAILED else "SUCCESS",
            "Reason": str(reason if status else self.Reason),
            "PhysicalResourceId": str(self.PhysicalResourceId),
            "StackId": self.StackId,
            "RequestId": self.RequestId,
            "LogicalResourceId": self.LogicalResourceId,
            "NoEcho": False,
            "Data": self.Data,
        }
        logger.info("Responding %s with PhysicalResourceId %s", body["Status"], body["PhysicalResourceId"])
        deliver(self._response_url, encode_within_limit(body))

    def _deadline(self) -> Deadline:
        return Deadline(self._context.get_remaining_time_in_millis() / 1000 - _RESERVED_SECONDS)

    def _on_create(self, event: CloudFormationEvent, context: LambdaContext) -> str:
        request, layer_version = _requested_grant(event, context)
        # From here on the grant may land even if we never hear back: answer with an ID the rollback can clean up.
        self._fallback_physical_id = build_physical_id(layer_version, request.statement_id, "")
        try:
            granted = grant(lambda_client(layer_version.region), request, layer_version, self._deadline())
        except OperationFailed as failure:
            if not failure.outcome_unknown:
                self._fallback_physical_id = build_not_granted_id(self.RequestId)
            raise
        self.Data = granted.data
        return build_physical_id(layer_version, granted.statement_id, granted.revision_id)

    def _on_update(self, event: CloudFormationEvent, context: LambdaContext) -> str:
        request, layer_version = _requested_grant(event, context)
        client = lambda_client(layer_version.region)
        physical_id = event["PhysicalResourceId"]
        current = parse_physical_id(physical_id)
        if current is not None and (current.layer_version, current.statement_id) == (
            layer_version,
            request.statement_id,
        ):
            # Same identity: keep the PhysicalResourceId, so CloudFormation sends no cleanup Delete.
            self.Data = update_in_place(client, request, layer_version, self._deadline()).data
            return physical_id
        # New identity: CloudFormation deletes the old statement during cleanup, once this one is granted.
        granted = grant(client, request, layer_version, self._deadline())
        self.Data = granted.data
        return build_physical_id(layer_version, granted.statement_id, granted.revision_id)

    def _on_delete(self, event: CloudFormationEvent, context: LambdaContext) -> str:
        physical_id = event["PhysicalResourceId"]
        grant_id = parse_physical_id(physical_id)
        if grant_id is None:
            logger.info("PhysicalResourceId is not a grant (its Create failed): nothing to revoke")
            return physical_id
        expected = None
        if grant_id.outcome_unknown:
            # The Create may or may not have landed: remove the statement only if it is the one we asked for.
            try:
                expected = parse_properties(event.get("ResourceProperties"))
            except InvalidProperties:
                logger.info("The failed Create had invalid properties, so it granted nothing")
                return physical_id
        outcome = revoke(lambda_client(grant_id.layer_version.region), grant_id, expected, self._deadline())
        logger.info("Statement %s on %s: %s", grant_id.statement_id, grant_id.layer_version.arn, outcome)
        return physical_id


def _string_field(event: Mapping[str, Any], name: str) -> str:
    """A top-level event field that should be a string, or "" when it is missing or of another type."""
    value = event.get(name)
    return value if isinstance(value, str) else ""
