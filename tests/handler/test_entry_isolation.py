"""Each event builds only what it needs and inherits nothing from the event before it."""

from __future__ import annotations

import boto3
import pytest
from crhelper import CfnResource

from layer_share_handler.entry import Invocation
from tests.handler.grant_resource import grant_properties, send


def test_the_helper_holds_every_attribute_crhelpers_constructor_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")  # so that the reference helper builds no clients
    assert set(vars(CfnResource())) <= set(vars(Invocation()))


def test_a_warm_event_builds_no_boto3_client(invoke, receiver, layer_v1, monkeypatch) -> None:
    send(invoke, receiver, "Create", grant_properties(layer_v1))  # the first event builds the Lambda client
    built: list[str] = []
    original = boto3.session.Session.client

    def counting(self: boto3.session.Session, service_name: str, *args: object, **kwargs: object) -> object:
        built.append(service_name)
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", counting)

    body = send(invoke, receiver, "Create", grant_properties(layer_v1, statement_id="second"))

    assert body["Status"] == "SUCCESS"
    assert built == []


def test_a_failed_event_leaves_nothing_behind_for_the_next(invoke, receiver, layer_v1) -> None:
    failed = send(invoke, receiver, "Create", grant_properties(layer_v1, Principal="everyone"))

    body = send(invoke, receiver, "Create", grant_properties(layer_v1))

    assert failed["Status"] == "FAILED"
    assert (body["Status"], body["Reason"]) == ("SUCCESS", "")
    assert set(body["Data"]) == {"Statement", "RevisionId", "StatementId", "LayerVersionArn"}
    assert body["PhysicalResourceId"] != failed["PhysicalResourceId"]
