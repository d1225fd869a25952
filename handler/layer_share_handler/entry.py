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
from .exceptions import EventFailed, InvalidProperties
from .lifecycle import Clients, Result, create, declared_grant, delete, update
from .physical_id import build_not_granted_id, build_physical_id, parse_physical_id
from .protocol import CloudFormationEvent, CloudFormationResponse, LambdaContext
from .response import DELIVERY_WORST_CASE, deliver, encode_within_limit
from .rules import event_problem

if TYPE_CHECKING:
    from types_boto3_cloudformation.client import CloudFormationClient
    from types_boto3_lambda.client import LambdaClient

logger = logging.getLogger(__name__)
# crhelper logs the raw event, ResponseURL included, at DEBUG: keep its loggers above that.
logging.getLogger("crhelper").setLevel(logging.INFO)

_client_lock = threading.Lock()


def handler(event: Any, context: LambdaContext) -> None:
    """Answer one CloudFormation custom resource event for Custom::LayerVersionPermission."""
    Invocation()(event, context)


@cache
def _cached_client(service: str, region: str) -> Any:
    # boto3's default session: the only one in the process, so each service model is loaded once.
    client = boto3.client(
        service,  # type: ignore[call-overload]
        region_name=region,
        # Retries are ours (api_calls.py), bounded by the event's budget, which also sets each read timeout.
        config=Config(
            connect_timeout=CONNECT_TIMEOUT, read_timeout=MAX_READ_TIMEOUT, retries={"total_max_attempts": 1}
        ),
    )
    client.meta.events.register(f"before-call.{service}", apply_read_timeout)
    client.meta.events.register(f"after-call.{service}", note_call)
    client.meta.events.register(f"after-call-error.{service}", note_unanswered_call)
    return client


def lambda_client(region: str) -> LambdaClient:
    """One client per region; creating boto3 clients is not thread-safe."""
    with _client_lock:
        client: LambdaClient = _cached_client("lambda", region)
        return client


def cloudformation_client(region: str) -> CloudFormationClient:
    """CloudFormation's record of the stack tells the kinds of Delete apart (lifecycle.py)."""
    with _client_lock:
        client: CloudFormationClient = _cached_client("cloudformation", region)
        return client


# Where every decision gets its clients; tests that watch the calls replace it.
CLIENTS = Clients(lambda_client, cloudformation_client)


# What crhelper's request flow reads from the helper. Its constructor sets these too, and also builds lambda,
# events and logs clients for its polling mode, which this handler does not use, at a cost per event that
# bench/RESULTS.md measures.
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


class Invocation(CfnResource):
    """One event. The decisions (lifecycle.py) return a Result or raise EventFailed; a timeout
    answers with `_fallback_physical_id`."""

    def __init__(self) -> None:  # crhelper's constructor is replaced, not called: see _CRHELPER_STATE
        vars(self).update(_CRHELPER_STATE)
        self._event = cast(CloudFormationEvent, {})
        self._responded = False
        self._response_lock = threading.Lock()
        self._fallback_physical_id = ""
        self._delivery_seconds = DELIVERY_WORST_CASE
        self._audit = AuditRecord("", "", "", "")
        self.Data: dict[str, str] = {}
        self.create(self._decided(create))
        self.update(self._decided(update))
        self.delete(self._decided(delete))

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
        self._fallback_physical_id = _timeout_physical_id(event, context)
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
        except InvalidProperties as failure:
            self.Reason = str(failure)
        except EventFailed as failure:
            self.Reason, self._fallback_physical_id = str(failure), failure.physical_id
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

    def _decided(
        self, decision: Callable[[CloudFormationEvent, LambdaContext, Clients, Budget], Result]
    ) -> Callable[[CloudFormationEvent, LambdaContext], str]:
        """A decision as crhelper calls it: the PhysicalResourceId returned, `Data` set, the audit filled in."""

        def run(event: CloudFormationEvent, context: LambdaContext) -> str:
            self._describe_in_audit(event, context)
            result = decision(event, context, CLIENTS, self._budget())
            self.Data = result.data
            self._audit.Outcome, self._audit.OtherVersions = result.outcome, result.others
            self._audit.RevisionIdAfter = result.data.get("RevisionId") or None
            return result.physical_id

        return run

    def _describe_in_audit(self, event: CloudFormationEvent, context: LambdaContext) -> None:
        resource_id = parse_physical_id(event.get("PhysicalResourceId"))
        try:
            grant = declared_grant(event.get("ResourceProperties"), context)
        except InvalidProperties:
            if resource_id is not None:
                self._audit.describe(resource_id.layer_version, None, resource_id.statement_id)
        else:
            self._audit.describe(grant.layer_version, grant.properties, grant.properties.statement_id)
        if resource_id is not None:
            self._audit.RevisionIdBefore = resource_id.revision_id or None


def _timeout_physical_id(event: Mapping[str, Any], context: LambdaContext) -> str:
    """What an event that runs out of time answers: the ID it had, or for a Create whose grant may have landed,
    an ID whose Delete checks the statement before removing it."""
    physical_id = _string_field(event, "PhysicalResourceId")
    if physical_id:
        return physical_id
    try:
        grant = declared_grant(event.get("ResourceProperties"), context)
    except InvalidProperties:
        return build_not_granted_id(_string_field(event, "RequestId"))
    return build_physical_id(grant.layer_version, grant.properties.statement_id, "")


def _string_field(event: Mapping[str, Any], name: str) -> str:
    """A top-level event field that should be a string, or "" when it is missing or of another type."""
    value = event.get(name)
    return value if isinstance(value, str) else ""
