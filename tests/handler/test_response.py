"""Response delivery to the ResponseURL: bounded retries, status checked, size limited."""

from __future__ import annotations

import json
import logging

from layer_share_handler.response import RESPONSE_LIMIT, deliver, encode_within_limit
from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import grant_properties


def test_delivery_retries_5xx_until_accepted(invoke, receiver, layer_v1, caplog):
    caplog.set_level(logging.INFO)
    receiver.answers.extend([503, 503])

    responses = invoke(cfn_event("Create", "SharePartner", grant_properties(layer_v1), receiver.url("busy")))

    assert [response.body["Status"] for response in responses] == ["SUCCESS"] * 3
    assert len({response.body["RequestId"] for response in responses}) == 1
    assert caplog.text.count("CloudFormation accepted the response (HTTP 200)") == 1


def test_a_4xx_answer_is_a_delivery_failure_and_is_not_retried(invoke, receiver, layer_v1, caplog):
    caplog.set_level(logging.INFO)
    receiver.answers.append(403)

    responses = invoke(cfn_event("Create", "SharePartner", grant_properties(layer_v1), receiver.url("expired")))

    assert len(responses) == 1
    assert "refused the response with HTTP 403; it was not delivered" in caplog.text
    assert "accepted" not in caplog.text


def test_an_unreachable_response_url_is_retried_a_bounded_number_of_times(caplog):
    caplog.set_level(logging.INFO)

    assert deliver("https://127.0.0.1:9/closed?X-Amz-Signature=secret", b"{}") is False

    assert caplog.text.count("Response delivery attempt") == 3
    assert "not delivered after 3 attempts" in caplog.text
    assert "secret" not in caplog.text


def test_a_response_url_that_is_not_https_is_never_contacted(caplog):
    assert deliver("http://127.0.0.1:9/plain", b"{}") is False
    assert "not an https URL" in caplog.text


def test_an_oversized_reason_is_cut_to_fit_keeping_its_start():
    body = {"Status": "FAILED", "Reason": "StatementId 'x' is wrong: " + "y" * 10_000, "Data": {"Statement": "{}"}}

    payload = encode_within_limit(body)

    assert len(payload) <= RESPONSE_LIMIT
    decoded = json.loads(payload)
    assert decoded["Reason"].startswith("StatementId 'x' is wrong")
    assert decoded["Reason"].endswith("[truncated]")
    assert decoded["Data"] == {"Statement": "{}"}


def test_a_response_within_the_limit_is_sent_unchanged():
    body = {"Status": "SUCCESS", "Reason": "", "Data": {"RevisionId": "r"}}
    assert json.loads(encode_within_limit(body)) == body
