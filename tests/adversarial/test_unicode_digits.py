"""Regression tests for the fuzzer's first find: Python's \\d takes any Unicode digit, Lambda's patterns only ASCII.

Before the fix, a Principal of fullwidth digits passed validation and reached AddLayerVersionPermission, and a
PhysicalResourceId with such an account parsed as a grant, so its Delete called Lambda.
"""

from __future__ import annotations

import pytest

from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import grant_properties

LAYER_VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:layer:lookalike:1"
FULLWIDTH_ACCOUNT = "１２３４５６７８９０１２"
ARABIC_INDIC_ACCOUNT = "١٢٣٤٥٦٧٨٩٠١٢"


@pytest.mark.parametrize(
    "name, value",
    [
        ("Principal", FULLWIDTH_ACCOUNT),
        ("Principal", ARABIC_INDIC_ACCOUNT),
        ("Principal", f"arn:aws:iam::{ARABIC_INDIC_ACCOUNT}:root"),
        ("LayerName", f"arn:aws:lambda:us-east-1:{FULLWIDTH_ACCOUNT}:layer:lookalike"),
    ],
    ids=["fullwidth-account", "arabic-indic-account", "arabic-indic-root-arn", "fullwidth-layer-account"],
)
def test_unicode_digits_are_refused_before_any_lambda_call(handle, response_url, lambda_calls, name, value):
    event = cfn_event("Create", "Lookalike", {**grant_properties(LAYER_VERSION_ARN), name: value}, response_url())

    outcome = handle(event)

    assert outcome.body["Status"] == "FAILED"
    assert f"{name} {value!r} does not match the pattern" in outcome.body["Reason"]
    assert lambda_calls.total == 0


def test_a_physical_id_with_unicode_digits_is_not_a_grant_so_its_delete_calls_nothing(
    handle, response_url, lambda_calls
):
    physical_id = f"arn:aws:lambda:us-east-1:{FULLWIDTH_ACCOUNT}:layer:lookalike:1#share-partner#"
    event = cfn_event(
        "Delete", "Lookalike", grant_properties(LAYER_VERSION_ARN), response_url(), physical_id=physical_id
    )

    outcome = handle(event)

    assert outcome.body["Status"] == "SUCCESS"
    assert outcome.body["PhysicalResourceId"] == physical_id
    assert lambda_calls.total == 0
