"""Retention's decisions and its failure report, with Lambda stubbed (botocore's Stubber)."""

from __future__ import annotations

import json

import pytest

from layer_share_handler.budget import Budget
from layer_share_handler.permissions import OperationFailed
from layer_share_handler.physical_id import LayerVersion, parse_physical_id
from layer_share_handler.retention import past_the_window, retire
from layer_share_handler.rules import Retention
from layer_share_handler.statement import GrantStatement

LAYER_ARN = "arn:aws:lambda:eu-west-1:111122223333:layer:tools"
GRANT_ID = parse_physical_id(f"{LAYER_ARN}:3#share#rev-3")
GRANTED = GrantStatement("share", "223456789012")
VERSION_1 = LayerVersion("aws", "eu-west-1", "111122223333", "tools", 1)


@pytest.mark.parametrize(
    ("versions", "current", "keep", "expected"),
    [
        ([1, 2, 3, 4, 5], 5, 2, [1, 2, 3]),
        ([1, 2, 3, 4, 5], 5, 1, [1, 2, 3, 4]),
        ([1, 2, 3, 4, 5], 5, None, []),
        ([1, 2, 3, 5], 5, 2, [1, 2]),  # a deleted version does not count
        ([1, 2, 3, 4, 5], 3, 2, [1]),  # newer versions are not older than current
        ([4, 5], 5, 10, []),
    ],
)
def test_past_the_window_counts_the_newest_existing_versions_with_the_current_one(versions, current, keep, expected):
    assert past_the_window(versions, current, keep) == expected


def test_a_delete_that_cannot_finish_says_which_versions_keep_the_statement(stubbed, deadline: Budget):
    client, stubber = stubbed
    stubber.add_response(
        "list_layer_versions",
        {"LayerVersions": [{"Version": number} for number in (3, 2, 1)]},
        {"LayerName": LAYER_ARN, "MaxItems": 50},
    )
    stubber.add_response(
        "remove_layer_version_permission", {}, {"LayerName": LAYER_ARN, "VersionNumber": 3, "StatementId": "share"}
    )
    policy = {
        "Statement": [
            GRANTED.policy_statement(GRANT_ID.layer_version.__class__("aws", "eu-west-1", "111122223333", "tools", 1))
        ]
    }
    stubber.add_response(
        "get_layer_version_policy",
        {"Policy": json.dumps(policy), "RevisionId": "rev-a"},
        {"LayerName": LAYER_ARN, "VersionNumber": 1},
    )
    stubber.add_client_error("remove_layer_version_permission", "InvalidParameterValueException", "bad", 400)

    with pytest.raises(OperationFailed) as failure:
        retire(client, GRANT_ID, GRANTED, Retention(keep_versions=2, revoke_retained_on_delete=True), deadline)

    reason = str(failure.value)
    assert "revoking the kept statements stopped at version 1" in reason
    assert "Not done, so the statement may remain on versions: 1, 2" in reason
    assert "InvalidParameterValueException" in reason
