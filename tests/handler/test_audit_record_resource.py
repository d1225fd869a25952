"""The audit trail: each event writes one JSON record saying who was granted what, and what was done.

The records are read back as CloudWatch Logs Insights reads them: the JSON object in the log line.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from tests.cfn_protocol import STACK_ID, cfn_event
from tests.handler.grant_resource import (
    OTHER_PARTNER,
    PARTNER,
    GrantResource,
    grant_properties,
    send,
)


@pytest.fixture
def audit(caplog: pytest.LogCaptureFixture) -> Any:
    """The audit records written so far, parsed."""
    caplog.set_level(logging.INFO, logger="layer_share_handler.audit")

    def records() -> list[dict[str, Any]]:
        return [
            json.loads(record.getMessage()) for record in caplog.records if record.name == "layer_share_handler.audit"
        ]

    return records


def test_each_event_writes_one_record_of_what_it_did(invoke, receiver, layer_v1, audit):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    created = grant.create()
    _, updated = grant.change(grant_properties(layer_v1, Principal=OTHER_PARTNER))
    send(
        invoke,
        receiver,
        "Update",
        grant_properties(layer_v1, Principal=OTHER_PARTNER, ServiceTimeout="600"),
        physical_id=created["PhysicalResourceId"],
        old_properties=grant_properties(layer_v1, Principal=OTHER_PARTNER),
    )
    for _ in range(2):
        send(
            invoke,
            receiver,
            "Delete",
            grant_properties(layer_v1, Principal=OTHER_PARTNER),
            physical_id=created["PhysicalResourceId"],
        )

    records = audit()

    common = {
        "Audit": "LayerVersionPermission",
        "StackId": STACK_ID,
        "LogicalResourceId": "SharePartner",
        "LayerVersionArn": layer_v1,
        "StatementId": "share-partner",
        "OrganizationId": None,
        "Status": "SUCCESS",
        "PhysicalResourceId": created["PhysicalResourceId"],
        "ResponseDelivered": True,
    }
    assert [{key: record[key] for key in common} for record in records] == [common] * 5
    created_revision, updated_revision = created["Data"]["RevisionId"], updated["Data"]["RevisionId"]
    assert [
        (
            record["RequestType"],
            record["Outcome"],
            record["Principal"],
            record["RevisionIdBefore"],
            record["RevisionIdAfter"],
            record["LambdaCalls"],
        )
        for record in records
    ] == [
        ("Create", "granted", PARTNER, None, created_revision, [_call("AddLayerVersionPermission", 201)]),
        (
            "Update",
            "updated",
            OTHER_PARTNER,
            created_revision,
            updated_revision,
            [
                _call("GetLayerVersionPolicy", 200),
                _call("RemoveLayerVersionPermission", 204),
                _call("AddLayerVersionPermission", 201),
            ],
        ),
        ("Update", "kept", OTHER_PARTNER, created_revision, updated_revision, [_call("GetLayerVersionPolicy", 200)]),
        (
            "Delete",
            "removed",
            OTHER_PARTNER,
            created_revision,
            None,
            # The remove conditioned on the Create's RevisionId is refused after the Update; a read decides.
            [
                _call("RemoveLayerVersionPermission", 412, "PreconditionFailedException"),
                _call("GetLayerVersionPolicy", 200),
                _call("RemoveLayerVersionPermission", 204),
            ],
        ),
        (
            "Delete",
            "already absent",
            OTHER_PARTNER,
            created_revision,
            None,
            [
                _call("RemoveLayerVersionPermission", 412, "PreconditionFailedException"),
                _call("GetLayerVersionPolicy", 404, "ResourceNotFoundException"),
            ],
        ),
    ]
    assert len({record["RequestId"] for record in records}) == 5


def _call(operation: str, status: int, error: str | None = None) -> dict[str, Any]:
    return {"Operation": operation, "HTTPStatus": status, "Error": error}


def test_a_failed_event_records_the_failure_and_its_reason(invoke, receiver, layer_v1, audit):
    body = send(invoke, receiver, "Create", grant_properties(layer_v1, Principal="everyone"))

    [record] = audit()

    assert record["Status"] == "FAILED" and record["Outcome"] == "failed"
    assert record["Reason"] == body["Reason"]
    assert record["PhysicalResourceId"] == body["PhysicalResourceId"]
    assert record["LambdaCalls"] == []


def test_records_never_hold_the_response_url_or_the_raw_event(invoke, receiver, layer_v1, audit):
    url = receiver.url(uuid.uuid4().hex)
    invoke(cfn_event("Create", "SharePartner", grant_properties(layer_v1), url))
    invoke({"RequestType": "Create", "ResponseURL": receiver.url("malformed"), "ResourceProperties": {}})

    records = audit()

    assert [record["Status"] for record in records] == ["SUCCESS", "FAILED"]
    for record in records:
        text = json.dumps(record)
        assert "X-Amz-Signature" not in text and "cloudformation-custom-resource-response" not in text
        assert "ResponseURL" not in record and "ResourceProperties" not in record and "ServiceToken" not in text
