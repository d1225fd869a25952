"""Bounded retention, driven through the real entry point with the events CloudFormation sends.

A version move is an Update that returns a new PhysicalResourceId, then (once the stack update succeeded) a
cleanup Delete of the replaced grant with its old properties. A rolled-back move is an Update with the
properties swapped, then the cleanup Delete of the grant the failed update made. Every test asserts the
responses and the policy of every version of the layer.
"""

from __future__ import annotations

import uuid

from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import (
    OTHER_PARTNER,
    PARTNER,
    STATEMENT_ID,
    STRANGER,
    add_by_hand,
    lambda_statement,
    shared,
)
from tests.standins import policy_statements


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


def test_a_foreign_statement_under_the_same_statement_id_outside_the_window_is_untouched(
    lambda_api, versions, new_grant
):
    add_by_hand(lambda_api, versions[0])
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
    add_by_hand(lambda_api, versions[0])
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

    grant.roll_back(grant.update(versions[3])[0])

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

    grant.roll_back(grant.update(versions[2], Principal=OTHER_PARTNER)[0])

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
