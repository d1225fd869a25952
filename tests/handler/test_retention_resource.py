"""Bounded retention, driven through the real entry point with the events CloudFormation sends.

A version move is an Update that returns a new PhysicalResourceId, then (once the stack update succeeded) a
cleanup Delete of the replaced grant with its old properties. A rolled-back move is an Update with the
properties swapped, then the cleanup Delete of the grant the failed update made. Every test asserts the
responses and the policy of every version of the layer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import OTHER_PARTNER, PARTNER, grant_properties
from tests.standins import account_statement, policy_statements, publish_layer

STATEMENT_ID = "share-partner"
STRANGER = "445566778899"


def lambda_statement(layer_version_arn: str, account: str) -> dict[str, Any]:
    """This grant's statement as Lambda stores it."""
    return account_statement(layer_version_arn, STATEMENT_ID, account)


@dataclass
class Grant:
    """One Custom::LayerVersionPermission resource, as CloudFormation tracks it across events."""

    invoke: Any
    receiver: Any
    properties: dict[str, str]
    physical_id: str = ""
    responses: list[dict[str, Any]] = field(default_factory=list)

    def send(
        self,
        request_type: str,
        properties: dict[str, str],
        live: tuple[str, dict[str, str]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        event = cfn_event(request_type, "SharePartner", properties, self.receiver.url(uuid.uuid4().hex), **fields)
        (response,) = (received.body for received in self.invoke(event, live=live))
        assert response["Status"] == "SUCCESS", response["Reason"]
        assert response["RequestId"] == event["RequestId"]
        self.responses.append(response)
        return response

    def create(self) -> None:
        self.physical_id = self.send("Create", self.properties)["PhysicalResourceId"]

    def update(self, version_arn: str, **changes: str) -> tuple[str, dict[str, str]]:
        """The Update of a move; returns what the cleanup Delete will need, the replaced ID and properties."""
        replaced = (self.physical_id, self.properties)
        self.properties = {**self.properties, **version_properties(version_arn), **changes}
        response = self.send("Update", self.properties, physical_id=replaced[0], old_properties=replaced[1])
        self.physical_id = response["PhysicalResourceId"]
        assert self.physical_id != replaced[0], "a new layer version is a replacement"
        return replaced

    def cleanup(self, replaced: tuple[str, dict[str, str]]) -> None:
        """CloudFormation's cleanup Delete of a replaced copy: its record names this grant's live copy."""
        self.send("Delete", replaced[1], live=(self.physical_id, self.properties), physical_id=replaced[0])

    def move(self, version_arn: str, **changes: str) -> None:
        """A successful move: the Update, then CloudFormation's cleanup Delete of the replaced grant."""
        self.cleanup(self.update(version_arn, **changes))

    def roll_back(self, replaced: tuple[str, dict[str, str]]) -> None:
        """A failed stack update after this grant's Update: the Update with the properties swapped, then the
        cleanup Delete of the grant the failed update made."""
        failed = (self.physical_id, self.properties)
        self.physical_id, self.properties = replaced[0], replaced[1]
        response = self.send("Update", self.properties, physical_id=failed[0], old_properties=failed[1])
        self.physical_id = response["PhysicalResourceId"]
        self.cleanup(failed)

    def delete(self) -> None:
        self.send("Delete", self.properties, physical_id=self.physical_id)


def version_properties(version_arn: str) -> dict[str, str]:
    layer_arn, version = version_arn.rsplit(":", 1)
    return {"LayerName": layer_arn, "VersionNumber": version}


@pytest.fixture
def versions(lambda_api: Any, layer_name: str) -> list[str]:
    """Five published versions of one layer; versions[0] is version 1."""
    return [publish_layer(lambda_api, layer_name) for _ in range(5)]


@pytest.fixture
def new_grant(invoke: Any, receiver: Any) -> Any:
    def make(version_arn: str, keep_versions: str | None = "2", revoke_retained: str = "true", **extra: str) -> Grant:
        properties = grant_properties(
            version_arn,
            STATEMENT_ID,
            RevokeRetainedOnDelete=revoke_retained,
            **({"KeepVersions": keep_versions} if keep_versions is not None else {}),
            **extra,
        )
        return Grant(invoke, receiver, properties)

    return make


def shared(lambda_api: Any, versions: list[str]) -> dict[int, dict[str, Any]]:
    """Every version's statements by Sid, by version number."""
    return {number: policy_statements(lambda_api, arn) for number, arn in enumerate(versions, start=1)}


def test_moving_through_five_versions_keeps_the_grant_on_the_newest_two(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions="2")
    grant.create()
    for version_arn in versions[1:]:
        grant.move(version_arn)

    assert shared(lambda_api, versions) == {
        1: {},
        2: {},
        3: {},
        4: {STATEMENT_ID: lambda_statement(versions[3], PARTNER)},
        5: {STATEMENT_ID: lambda_statement(versions[4], PARTNER)},
    }


def test_deleting_the_stack_leaves_no_grant_on_any_version(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions="3")
    grant.create()
    for version_arn in versions[1:]:
        grant.move(version_arn)

    grant.delete()

    assert shared(lambda_api, versions) == {1: {}, 2: {}, 3: {}, 4: {}, 5: {}}


def test_keeping_every_version_keeps_them_until_the_stack_is_deleted(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions=None)
    grant.create()
    for version_arn in versions[1:]:
        grant.move(version_arn)
    kept = shared(lambda_api, versions)

    grant.delete()

    assert kept == {n: {STATEMENT_ID: lambda_statement(versions[n - 1], PARTNER)} for n in range(1, 6)}
    assert shared(lambda_api, versions) == {1: {}, 2: {}, 3: {}, 4: {}, 5: {}}


def test_keeping_one_version_revokes_the_old_one_on_each_move(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions="1", revoke_retained="false")
    grant.create()
    grant.move(versions[1])

    assert shared(lambda_api, versions[:2]) == {1: {}, 2: {STATEMENT_ID: lambda_statement(versions[1], PARTNER)}}


def _foreign_statement(lambda_api: Any, version_arn: str) -> None:
    """A statement a person made under the grant's StatementId, for another account."""
    layer_arn, version = version_arn.rsplit(":", 1)
    lambda_api.add_layer_version_permission(
        LayerName=layer_arn,
        VersionNumber=int(version),
        StatementId=STATEMENT_ID,
        Action="lambda:GetLayerVersion",
        Principal=STRANGER,
    )


def test_a_foreign_statement_under_the_same_statement_id_outside_the_window_is_untouched(
    lambda_api, versions, new_grant
):
    _foreign_statement(lambda_api, versions[0])
    grant = new_grant(versions[2], keep_versions="2")
    grant.create()
    for version_arn in versions[3:]:
        grant.move(version_arn)
    grant.delete()

    assert shared(lambda_api, versions) == {
        1: {STATEMENT_ID: lambda_statement(versions[0], STRANGER)},
        2: {},
        3: {},
        4: {},
        5: {},
    }


def test_a_foreign_statement_where_the_window_must_hold_the_grant_fails_the_create_and_is_named(
    invoke, receiver, lambda_api, versions, new_grant
):
    _foreign_statement(lambda_api, versions[0])
    grant = new_grant(versions[1], keep_versions="2")
    event = cfn_event("Create", "SharePartner", grant.properties, receiver.url(uuid.uuid4().hex))

    (response,) = (received.body for received in invoke(event))

    assert response["Status"] == "FAILED"
    assert f"on {versions[0]} holds a statement this resource did not make" in response["Reason"]
    assert "arn:aws:iam::445566778899:root" in response["Reason"]
    assert shared(lambda_api, versions[:1]) == {1: {STATEMENT_ID: lambda_statement(versions[0], STRANGER)}}


def test_a_version_the_owner_deleted_is_skipped_and_does_not_count(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions="2")
    grant.create()
    grant.move(versions[1])
    grant.move(versions[2])
    lambda_api.delete_layer_version(LayerName=versions[3].rsplit(":", 1)[0], VersionNumber=4)

    grant.move(versions[4])

    remaining = [versions[0], versions[1], versions[2], versions[4]]
    assert {n: policy_statements(lambda_api, arn) for n, arn in zip((1, 2, 3, 5), remaining, strict=True)} == {
        1: {},
        2: {},
        3: {STATEMENT_ID: lambda_statement(versions[2], PARTNER)},
        5: {STATEMENT_ID: lambda_statement(versions[4], PARTNER)},
    }


def test_a_principal_change_with_the_move_applies_to_every_kept_version(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions="2")
    grant.create()
    grant.move(versions[1])

    grant.move(versions[2], Principal=OTHER_PARTNER)

    assert shared(lambda_api, versions[:3]) == {
        1: {},
        2: {STATEMENT_ID: lambda_statement(versions[1], OTHER_PARTNER)},
        3: {STATEMENT_ID: lambda_statement(versions[2], OTHER_PARTNER)},
    }
    grant.delete()
    assert shared(lambda_api, versions[:3]) == {1: {}, 2: {}, 3: {}}


def test_a_rolled_back_move_restores_the_state_before_it(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions="2")
    grant.create()
    grant.move(versions[1])
    grant.move(versions[2])
    before = shared(lambda_api, versions)

    grant.roll_back(grant.update(versions[3]))

    assert (
        shared(lambda_api, versions)
        == before
        == {
            1: {},
            2: {STATEMENT_ID: lambda_statement(versions[1], PARTNER)},
            3: {STATEMENT_ID: lambda_statement(versions[2], PARTNER)},
            4: {},
            5: {},
        }
    )
    assert grant.physical_id.startswith(f"{versions[2]}#{STATEMENT_ID}#")


def test_a_rolled_back_move_with_a_principal_change_restores_the_principal_everywhere(lambda_api, versions, new_grant):
    grant = new_grant(versions[0], keep_versions="2")
    grant.create()
    grant.move(versions[1])
    before = shared(lambda_api, versions)

    grant.roll_back(grant.update(versions[2], Principal=OTHER_PARTNER))

    assert (
        shared(lambda_api, versions)
        == before
        == {
            1: {STATEMENT_ID: lambda_statement(versions[0], PARTNER)},
            2: {STATEMENT_ID: lambda_statement(versions[1], PARTNER)},
            3: {},
            4: {},
            5: {},
        }
    )
