"""The ownership model: which versions hold a grant, and what changes make the policies agree, without I/O."""

from __future__ import annotations

import pytest

from layer_share_handler.ownership import Change, Unreadable, Window, drift, owned_contents, plan, window_of
from layer_share_handler.rules import Retention
from layer_share_handler.statement import GrantStatement

PARTNER = GrantStatement("share", "223456789012")
OLD_PARTNER = GrantStatement("share", "334567890123")
STRANGER = GrantStatement("share", "445566778899")
KEEP_TWO = Retention(keep_versions=2, revoke_retained_on_delete=True)
KEEP_ALL = Retention(revoke_retained_on_delete=True)


@pytest.mark.parametrize(
    ("existing", "current", "retention", "must_hold", "may_hold"),
    [
        ([1, 2, 3, 4, 5], 5, KEEP_TWO, {4, 5}, {4, 5}),
        ([1, 2, 3, 5], 5, KEEP_TWO, {3, 5}, {3, 5}),  # the owner deleted version 4: it neither counts nor holds
        ([1, 2, 3, 4, 5], 3, KEEP_TWO, {2, 3}, {2, 3}),  # newer versions are never in the window
        ([1, 2, 3], 3, KEEP_ALL, {3}, {1, 2, 3}),
        ([1, 2, 3], 3, Retention(), {3}, {3}),  # without retention the grant is the current version's alone
        ([], 1, KEEP_TWO, {1}, {1}),
    ],
)
def test_the_window_is_the_newest_existing_versions_up_to_the_current_one(
    existing, current, retention, must_hold, may_hold
):
    window = window_of(current, existing, retention)

    assert (window.must_hold, window.may_hold) == (frozenset(must_hold), frozenset(may_hold))


def window(current: int, *kept: int, keep_all_older: tuple[int, ...] = ()) -> Window:
    must = frozenset({current, *kept})
    return Window(current, must, must | frozenset(keep_all_older))


def test_a_window_version_without_the_grant_gets_it_and_one_with_it_is_left_alone():
    decided = plan(PARTNER, frozenset({PARTNER}), window(3, 2), {2: None, 3: PARTNER}, prune=True)

    assert (decided.changes, decided.conflicts) == ({2: Change.ADD}, {})


def test_the_grants_previous_content_is_replaced_wherever_it_may_stay():
    owned = owned_contents(PARTNER, OLD_PARTNER)

    decided = plan(PARTNER, owned, window(3, keep_all_older=(1, 2)), {1: OLD_PARTNER, 2: None, 3: OLD_PARTNER}, True)

    assert decided.changes == {1: Change.REPLACE, 3: Change.REPLACE}


def test_outside_the_window_the_grants_statements_go_only_when_pruning():
    holdings = {1: OLD_PARTNER, 2: PARTNER, 4: PARTNER, 5: STRANGER}
    owned = owned_contents(PARTNER, OLD_PARTNER)

    assert plan(PARTNER, owned, window(3), holdings, prune=False).changes == {3: Change.ADD}
    assert plan(PARTNER, owned, window(3), holdings, prune=True).changes == {
        1: Change.REMOVE,
        2: Change.REMOVE,
        3: Change.ADD,
        4: Change.REMOVE,
    }


def test_a_foreign_statement_is_never_changed_and_is_a_conflict_only_where_the_grant_must_be():
    holdings = {1: STRANGER, 2: Unreadable('{"Sid":"share","Effect":"Deny"}'), 3: STRANGER}

    decided = plan(PARTNER, frozenset({PARTNER}), window(3, 2), holdings, prune=True)

    assert decided.changes == {}
    assert decided.conflicts == {2: holdings[2], 3: STRANGER}


def test_without_a_window_every_statement_of_the_grant_goes_and_nothing_else():
    holdings = {1: PARTNER, 2: STRANGER, 3: None}

    decided = plan(PARTNER, frozenset({PARTNER}), None, holdings, prune=True)

    assert (decided.changes, decided.conflicts) == ({1: Change.REMOVE}, {})


def test_only_the_same_statement_id_makes_earlier_content_the_grants():
    renamed = GrantStatement("share-renamed", "334567890123")

    assert owned_contents(PARTNER, renamed, None) == frozenset({PARTNER})


def test_drift_names_missing_changed_and_outside_versions():
    holdings = {1: PARTNER, 2: None, 3: OLD_PARTNER, 4: PARTNER, 5: STRANGER}

    found = drift(PARTNER, window(4, 3, 2), holdings)

    assert (found.missing, found.changed, found.outside) == ((2,), (3,), (1,))
