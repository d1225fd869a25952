"""Lambda entry point: crhelper's request flow, with the defaults that hurt a permission resource replaced.

- a fresh helper per event, so no state leaks from one invocation into the next, built without the
  clients crhelper's constructor makes for its polling mode;
- no sleep on Delete, no polling, and never the ResponseURL or the raw event in the logs;
- exactly one response per event, delivered within a bound that leaves room before Lambda's timeout;
- every Lambda API call sized to the time left (budget.py);
- one audit record per event (audit.py);
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

from .audit import AuditRecord, note_call, note_unanswered_call
from .budget import CONNECT_TIMEOUT, MAX_READ_TIMEOUT, Budget, apply_read_timeout, delivery_bound
from .permissions import (
    ALREADY_ABSENT,
    OperationFailed,
    grant,
    kept,
    replace_statement,
    revoke,
    revoke_if_ours,
    update_in_place,
)
from .physical_id import LayerVersion, build_not_granted_id, build_physical_id, layer_version_for, parse_physical_id
from .protocol import CloudFormationEvent, CloudFormationResponse, LambdaContext
from .response import DELIVERY_WORST_CASE, deliver, encode_within_limit
from .retention import follow, retire
from .rules import InvalidProperties, PermissionRequest, event_problem, parse_properties
from .statement import GrantStatement

if TYPE_CHECKING:
    from types_boto3_lambda.client import LambdaClient

logger = logging.getLogger(__name__)
# crhelper logs the raw event, ResponseURL included, at DEBUG: keep its loggers above that.
logging.getLogger("crhelper").setLevel(logging.INFO)

_client_lock = threading.Lock()


def handler(event: Any, context: LambdaContext) -> None:
    """Answer one CloudFormation custom resource event for Custom::LayerVersionPermission."""
    _Invocation()(event, context)


@cache
def _cached_client(region: str) -> LambdaClient:
    # boto3's default session: the only one in the process, so the Lambda service model is loaded once.
    client = boto3.client(
        "lambda",
        region_name=region,
        # Retries are ours (permissions.py), bounded by the event's budget, which also sets each read timeout.
        config=Config(
            connect_timeout=CONNECT_TIMEOUT, read_timeout=MAX_READ_TIMEOUT, retries={"total_max_attempts": 1}
        ),
    )
    client.meta.events.register("before-call.lambda", apply_read_timeout)
    client.meta.events.register("after-call.lambda", note_call)
    client.meta.events.register("after-call-error.lambda", note_unanswered_call)
    return client


def lambda_client(region: str) -> LambdaClient:
    """One client per region; creating boto3 clients is not thread-safe."""
    with _client_lock:
        return _cached_client(region)


def _requested_grant(properties: Any, context: LambdaContext) -> tuple[PermissionRequest, LayerVersion]:
    """Validated properties, and the layer version they name (a bare name is in the function's account)."""
    request = parse_properties(properties)
    return request, layer_version_for(request.layer_name, request.version_number, context.invoked_function_arn)


# What crhelper's request flow reads from the helper. Its constructor sets these too, and also builds lambda,
# events and logs clients for its polling mode, which this handler does not use: about 150 ms per event at 128 MB.
_CRHELPER_STATE: dict[str, Any] = {
    "_sleep_on_delete": 0,
    "_json_logging": False,
    "_log_level": "INFO",
    "_boto_level": "ERROR",
    "_polling_interval": 2,
    "_ssl_verify": None,
    "_sam_local": None,
    "_region": None,
    "_create_func": None,
    "_update_func": None,
    "_delete_func": None,
    "_poll_create_func": None,
    "_poll_update_func": None,
    "_poll_delete_func": None,
    "_timer": None,
    "_init_failed": None,
    "_send_response": False,
    "Status": "",
    "Reason": "",
    "PhysicalResourceId": "",
    "StackId": "",
    "RequestId": "",
    "LogicalResourceId": "",
    "NoEcho": False,
    "_context": None,
    "_response_url": "",
}


class _Invocation(CfnResource):
    """One event. Handlers return the PhysicalResourceId and set `Data`, as crhelper expects; they set
    `_fallback_physical_id` to what a failure or timeout must answer with."""

    def __init__(self) -> None:  # crhelper's constructor is replaced, not called: see _CRHELPER_STATE
        vars(self).update(_CRHELPER_STATE)
        self._event = cast(CloudFormationEvent, {})
        self._responded = False
        self._response_lock = threading.Lock()
        self._fallback_physical_id = ""
        self._delivery_seconds = DELIVERY_WORST_CASE
        self._audit = AuditRecord("", "", "", "")
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
        remaining = context.get_remaining_time_in_millis() / 1000
        self._delivery_seconds = delivery_bound(remaining, DELIVERY_WORST_CASE)
        physical_id = _string_field(event, "PhysicalResourceId")
        self._fallback_physical_id = physical_id or build_not_granted_id(self.RequestId)
        self._audit = AuditRecord(
            _string_field(event, "RequestType"), self.StackId, self.RequestId, self.LogicalResourceId
        )
        self._audit.begin()
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
        # The timer's answer gets whatever is left before Lambda stops the function.
        seconds = self._delivery_seconds if status is None else self._context.get_remaining_time_in_millis() / 1000
        delivered = deliver(self._response_url, encode_within_limit(body), seconds)
        self._audit.write(body["Status"], body["Reason"], body["PhysicalResourceId"], delivered)

    def _budget(self) -> Budget:
        return Budget(lambda: self._context.get_remaining_time_in_millis() / 1000, self._delivery_seconds)

    def _on_create(self, event: CloudFormationEvent, context: LambdaContext) -> str:
        request, layer_version = _requested_grant(event["ResourceProperties"], context)
        self._audit.describe(layer_version, request, request.statement_id)
        self._audit.RevisionIdBefore = request.revision_id
        # From here on the grant may land even if we never hear back: answer with an ID the rollback can clean up.
        self._fallback_physical_id = build_physical_id(layer_version, request.statement_id, "")
        try:
            granted = grant(lambda_client(layer_version.region), request, layer_version, self._budget())
        except OperationFailed as failure:
            if not failure.outcome_unknown:
                self._fallback_physical_id = build_not_granted_id(self.RequestId)
            raise
        self.Data, self._audit.Outcome, self._audit.RevisionIdAfter = granted.data, granted.outcome, granted.revision_id
        return build_physical_id(layer_version, granted.statement_id, granted.revision_id)

    def _on_update(self, event: CloudFormationEvent, context: LambdaContext) -> str:
        request, layer_version = _requested_grant(event["ResourceProperties"], context)
        self._audit.describe(layer_version, request, request.statement_id)
        client = lambda_client(layer_version.region)
        physical_id = event["PhysicalResourceId"]
        current = parse_physical_id(physical_id)
        previous = _previous_grant(event, context)
        if current is None or (current.layer_version, current.statement_id) != (layer_version, request.statement_id):
            # New identity: CloudFormation deletes the old statement during cleanup, once this one is granted.
            # Under the same StatementId, the statement there may be this resource's own from before.
            replaceable = previous[1] if previous is not None and request.retention.active else None
            granted = grant(client, request, layer_version, self._budget(), replaceable)
            self.Data, self._audit.Outcome = granted.data, granted.outcome
            self._audit.RevisionIdAfter = granted.revision_id
            self._follow(client, request, layer_version, previous)
            return build_physical_id(layer_version, granted.statement_id, granted.revision_id)
        # Same identity: keep the PhysicalResourceId, so CloudFormation sends no cleanup Delete.
        self._audit.RevisionIdBefore = current.revision_id or None
        requested = GrantStatement.requested(request)
        if current.outcome_unknown or previous is None or previous[0] != layer_version:
            # The old properties do not say what the statement holds (the rollback of a failed replacement, say).
            granted = update_in_place(client, request, layer_version, self._budget())
        elif previous[1] == requested:
            granted = kept(layer_version, request, current.revision_id)  # e.g. only ServiceTimeout changed
        elif previous[1].statement_id == requested.statement_id:
            granted = replace_statement(client, request, layer_version, self._budget())
        else:
            granted = update_in_place(client, request, layer_version, self._budget())
        self.Data, self._audit.Outcome = granted.data, granted.outcome
        self._audit.RevisionIdAfter = granted.revision_id
        self._follow(client, request, layer_version, previous)
        return physical_id

    def _follow(
        self,
        client: LambdaClient,
        request: PermissionRequest,
        layer_version: LayerVersion,
        previous: tuple[LayerVersion, GrantStatement] | None,
    ) -> None:
        """Bring the layer's other versions along with this Update (retention.follow)."""
        if previous is not None:
            self._audit.OtherVersions.update(follow(client, request, layer_version, previous, self._budget()))

    def _on_delete(self, event: CloudFormationEvent, context: LambdaContext) -> str:
        physical_id = event["PhysicalResourceId"]
        grant_id = parse_physical_id(physical_id)
        if grant_id is None:  # its Create failed and granted nothing
            self._audit.Outcome = ALREADY_ABSENT
            return physical_id
        try:
            expected: PermissionRequest | None = parse_properties(event.get("ResourceProperties"))
        except InvalidProperties:
            expected = None
        self._audit.describe(grant_id.layer_version, expected, grant_id.statement_id)
        self._audit.RevisionIdBefore = grant_id.revision_id or None
        client = lambda_client(grant_id.layer_version.region)
        if not grant_id.outcome_unknown and expected is not None and expected.retention.active:
            granted = GrantStatement.requested(expected)
            self._audit.Outcome, others = retire(client, grant_id, granted, expected.retention, self._budget())
            self._audit.OtherVersions.update(others)
        elif not grant_id.outcome_unknown:
            self._audit.Outcome = revoke(client, grant_id, self._budget())
        elif expected is None:  # a Create with invalid properties never reached Lambda
            self._audit.Outcome = ALREADY_ABSENT
        else:
            # The Create may or may not have landed: remove the statement only if it is the one we asked for.
            self._audit.Outcome = revoke_if_ours(client, grant_id, expected, self._budget())
        return physical_id


def _previous_grant(event: CloudFormationEvent, context: LambdaContext) -> tuple[LayerVersion, GrantStatement] | None:
    """What the old properties granted, read by the same rules as the new ones; None when they are not valid."""
    try:
        request, layer_version = _requested_grant(event.get("OldResourceProperties"), context)
    except InvalidProperties:
        return None
    return layer_version, GrantStatement.requested(request)


def _string_field(event: Mapping[str, Any], name: str) -> str:
    """A top-level event field that should be a string, or "" when it is missing or of another type."""
    value = event.get(name)
    return value if isinstance(value, str) else ""
