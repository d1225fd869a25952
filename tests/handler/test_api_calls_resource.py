"""The fewest API calls each event can make without retention, counted on the wire, with complete events.

Create 1; Delete 1 while the policy is as the grant left it; an in-place Update 1 read and at most 2 writes; an
Update that leaves the grant as it is 1 read, which also grants again a statement someone removed.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.handler.grant_resource import (
    OTHER_PARTNER,
    PARTNER,
    GrantResource,
    account_statement,
    grant_properties,
    send,
)
from tests.standins import policy_statements

ADD, REMOVE, READ = "AddLayerVersionPermission", "RemoveLayerVersionPermission", "GetLayerVersionPolicy"


def test_create_makes_one_call(invoke, receiver, layer_v1, wire):
    body = send(invoke, receiver, "Create", grant_properties(layer_v1))

    assert body["Status"] == "SUCCESS"
    assert wire.take() == Counter({ADD: 1})


def test_delete_of_a_granted_statement_removes_it_in_one_call(invoke, receiver, lambda_api, layer_v1, wire):
    created = send(invoke, receiver, "Create", grant_properties(layer_v1))
    wire.take()

    body = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=created["PhysicalResourceId"])

    assert (body["Status"], body["Reason"], body["Data"]) == ("SUCCESS", "", {})
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert wire.take() == Counter({REMOVE: 1})
    assert policy_statements(lambda_api, layer_v1) == {}


def test_delete_of_a_statement_already_gone_reads_to_confirm_and_succeeds(invoke, receiver, layer_v1, wire):
    created = send(invoke, receiver, "Create", grant_properties(layer_v1))
    send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=created["PhysicalResourceId"])
    wire.take()

    body = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=created["PhysicalResourceId"])

    assert body["Status"] == "SUCCESS"
    # The remove conditioned on the grant's RevisionId is refused, as the policy moved on: a read decides.
    assert wire.take() == Counter({REMOVE: 1, READ: 1})


def test_delete_after_a_create_whose_outcome_is_unknown_reads_then_removes(
    invoke, receiver, lambda_api, layer_v1, wire
):
    send(invoke, receiver, "Create", grant_properties(layer_v1))
    wire.take()

    body = send(invoke, receiver, "Delete", grant_properties(layer_v1), physical_id=f"{layer_v1}#share-partner#")

    assert body["Status"] == "SUCCESS"
    assert wire.take() == Counter({READ: 1, REMOVE: 1})
    assert policy_statements(lambda_api, layer_v1) == {}


def test_delete_after_a_failed_create_makes_no_call(invoke, receiver, layer_v1, wire):
    failed = send(invoke, receiver, "Create", grant_properties(layer_v1, Principal="everyone"))
    wire.take()

    body = send(
        invoke,
        receiver,
        "Delete",
        grant_properties(layer_v1, Principal="everyone"),
        physical_id=failed["PhysicalResourceId"],
    )

    assert body["Status"] == "SUCCESS"
    assert wire.take() == Counter()


def test_update_of_the_principal_reads_once_and_makes_two_writes(invoke, receiver, lambda_api, layer_v1, wire):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    created = grant.create()
    wire.take()

    _, body = grant.change(grant_properties(layer_v1, Principal=OTHER_PARTNER))

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert wire.take() == Counter({READ: 1, REMOVE: 1, ADD: 1})
    assert policy_statements(lambda_api, layer_v1) == {
        "share-partner": account_statement(layer_v1, "share-partner", OTHER_PARTNER)
    }


def test_rollback_of_a_failed_replacement_reads_once_and_keeps_the_grant(invoke, receiver, lambda_api, layer_v1, wire):
    created = send(invoke, receiver, "Create", grant_properties(layer_v1))
    wire.take()

    # CloudFormation swaps the properties: the old ones name another statement than the PhysicalResourceId.
    body = send(
        invoke,
        receiver,
        "Update",
        grant_properties(layer_v1),
        physical_id=created["PhysicalResourceId"],
        old_properties=grant_properties(layer_v1, statement_id="share-partner-2"),
    )

    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert wire.take() == Counter({READ: 1})
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}


def _as_written(layer_version_arn: str, form: str) -> dict[str, str]:
    """The same grant as the Create's, written another way."""
    if form == "only ServiceTimeout changed":
        return grant_properties(layer_version_arn, ServiceTimeout="600")
    if form == "principal as its root ARN":
        return grant_properties(layer_version_arn, Principal=f"arn:aws:iam::{PARTNER}:root")
    return grant_properties(layer_version_arn, LayerName=layer_version_arn.split(":")[6])  # the name, not the ARN


@pytest.mark.parametrize(
    "form", ["only ServiceTimeout changed", "principal as its root ARN", "LayerName as a name instead of its ARN"]
)
def test_update_that_leaves_the_grant_as_it_is_reads_once_and_keeps_the_id(
    invoke, receiver, lambda_api, layer_v1, wire, form
):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    created = grant.create()
    wire.take()

    _, body = grant.change(_as_written(layer_v1, form))

    assert (body["Status"], body["Reason"]) == ("SUCCESS", "")
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert body["Data"]["RevisionId"] == created["Data"]["RevisionId"]
    assert body["Data"]["StatementId"] == "share-partner"
    assert body["Data"]["LayerVersionArn"] == layer_v1
    assert json.loads(body["Data"]["Statement"]) == account_statement(layer_v1, "share-partner")
    assert wire.take() == Counter({READ: 1})
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}


@pytest.mark.parametrize("form", ["only ServiceTimeout changed", "principal as its root ARN"])
def test_update_that_changes_only_the_form_grants_again_a_statement_removed_by_hand(
    invoke, receiver, lambda_api, layer_v1, wire, form
):
    grant = GrantResource(invoke, receiver, grant_properties(layer_v1))
    created = grant.create()
    layer_arn = layer_v1.rsplit(":", 1)[0]
    lambda_api.remove_layer_version_permission(LayerName=layer_arn, VersionNumber=1, StatementId="share-partner")
    wire.take()

    _, body = grant.change(_as_written(layer_v1, form))

    assert (body["Status"], body["Reason"]) == ("SUCCESS", "")
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert wire.take() == Counter({READ: 1, ADD: 1})
    assert policy_statements(lambda_api, layer_v1) == {"share-partner": account_statement(layer_v1, "share-partner")}
