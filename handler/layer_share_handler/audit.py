"""The audit trail: one JSON log record per event, saying who was granted what and what the handler did.

The record is built from named fields only, never from the raw event, so the presigned ResponseURL cannot
reach it. CloudWatch Logs Insights discovers the fields of the first JSON object in a Lambda log line, so
`filter Audit = "LayerVersionPermission"` selects these records (docs/operations.md has the query).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

from .physical_id import LayerVersion
from .rules import GrantProperties
from .statement import GrantStatement

logger = logging.getLogger(__name__)

MARKER = "LayerVersionPermission"
FAILED = "failed"

# The record of the event running in this thread, for the botocore hooks that note each Lambda call.
_current: ContextVar[AuditRecord | None] = ContextVar("layer_share_audit_record", default=None)


@dataclass(frozen=True)
class LambdaCall:
    """One Lambda API request: its answer's HTTP status (None when none came back) and error code."""

    Operation: str
    HTTPStatus: int | None
    Error: str | None = None


@dataclass
class AuditRecord:
    """What one event did; filled in as the event runs, written once with its response."""

    RequestType: str
    StackId: str
    RequestId: str
    LogicalResourceId: str
    RevisionIdBefore: str | None = None
    LayerVersionArn: str | None = None
    StatementId: str | None = None
    Principal: str | None = None
    OrganizationId: str | None = None
    Outcome: str = FAILED
    RevisionIdAfter: str | None = None
    # Retention: what the event did on the layer's other versions, by version number.
    OtherVersions: dict[int, str] = field(default_factory=dict)
    LambdaCalls: list[LambdaCall] = field(default_factory=list)

    def begin(self) -> None:
        """Make this the record that Lambda calls in this thread are noted in."""
        _current.set(self)

    def describe(self, layer_version: LayerVersion, request: GrantProperties | None, statement_id: str) -> None:
        """The grant the event is about: its layer version and StatementId, and its principal when known."""
        self.LayerVersionArn, self.StatementId = layer_version.arn, statement_id
        if request is not None:
            grant = GrantStatement.requested(request)
            self.Principal, self.OrganizationId = grant.principal, grant.organization_id

    def write(self, status: str, reason: str, physical_id: str, delivered: bool) -> None:
        """Log the record, with the response sent for the event; the event's calls are no longer noted."""
        if _current.get() is self:
            _current.set(None)
        record: dict[str, Any] = {
            "Audit": MARKER,
            **asdict(self),
            "Status": status,
            "PhysicalResourceId": physical_id,
            "ResponseDelivered": delivered,
        }
        if reason:
            record["Reason"] = reason
        logger.info("%s", json.dumps(record, separators=(",", ":")))


def note_call(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    """botocore `after-call` hook: note the call and its HTTP status, and the RevisionId of a first read."""
    record = _current.get()
    if record is None:
        return
    record.LambdaCalls.append(
        LambdaCall(model.name, http_response.status_code, parsed.get("Error", {}).get("Code") or None)
    )
    revision_id = parsed.get("RevisionId")
    if record.RevisionIdBefore is None and model.name == "GetLayerVersionPolicy" and isinstance(revision_id, str):
        record.RevisionIdBefore = revision_id


def note_unanswered_call(exception: Exception, event_name: str, **_: Any) -> None:
    """botocore `after-call-error` hook: a call that got no HTTP answer (timeout, reset)."""
    record = _current.get()
    if record is not None:
        record.LambdaCalls.append(LambdaCall(event_name.rsplit(".", 1)[-1], None, type(exception).__name__))
