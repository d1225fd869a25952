"""Which statements are a grant's, which versions of its layer must hold it, and what to change: no I/O.

The handler acts on these answers, and `layer-share try` and `layer-share verify` read their expectations from
them, so all three agree on one rule:

- A statement is the grant's only when it sits under the grant's StatementId and grants exactly what the grant's
  current or previous properties ask (principal, organization, action). Anything else is foreign, and is never
  touched: a foreign statement where the grant must be is a conflict to report.
- The window is where the grant lives on its layer. The current version always holds it. With `keep_versions=N`,
  the newest N existing versions up to the current one hold it, and no other version may. With every version
  kept (`keep_versions` unset), older versions that hold it keep it, with the grant's current content, and newer
  versions may not hold it. Without retention the grant is the current version's statement alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from .rules import Retention
from .statement import GrantStatement


@dataclass(frozen=True)
class Window:
    """The versions of the grant's layer that must hold the grant, and those that may keep it."""

    current: int
    must_hold: frozenset[int]
    may_hold: frozenset[int]


def window_of(current: int, existing: Iterable[int], retention: Retention) -> Window:
    """The window of a grant on version `current`, given the layer's existing versions."""
    if not retention.active:
        return Window(current, frozenset({current}), frozenset({current}))
    older = sorted((version for version in existing if version < current), reverse=True)
    if retention.keep_versions is None:
        return Window(current, frozenset({current}), frozenset({current, *older}))
    kept = frozenset({current, *older[: retention.keep_versions - 1]})
    return Window(current, kept, kept)


@dataclass(frozen=True)
class Unreadable:
    """A statement under the grant's StatementId that is not a grant this model can read: always foreign."""

    text: str


# What a version's policy holds under the grant's StatementId: nothing, a grant, or something else.
Holding = GrantStatement | Unreadable | None


class Change(Enum):
    ADD = "add"  # the version must hold the grant and holds nothing under its StatementId
    REPLACE = "replace"  # it holds the grant's previous content: swap it for the current one
    REMOVE = "remove"  # it holds the grant where the grant may not be


@dataclass(frozen=True)
class Plan:
    """What to change, version by version, and where a foreign statement stands where the grant must be."""

    changes: dict[int, Change]
    conflicts: dict[int, Holding]


def owns(owned: frozenset[GrantStatement], holding: Holding) -> bool:
    return isinstance(holding, GrantStatement) and holding in owned


def plan(
    target: GrantStatement,
    owned: frozenset[GrantStatement],
    window: Window | None,
    holdings: Mapping[int, Holding],
    prune: bool,
) -> Plan:
    """What makes the versions in `holdings` agree with the window.

    `target` is the grant's current content and `owned` every content of the grant's (target included).
    `window=None` means that nothing on this layer may hold the grant any more (it moved to another layer or
    StatementId, or it is being deleted). Without `prune`, statements outside the window are left for later:
    the cleanup after a move prunes only once the stack update has succeeded.
    """
    changes: dict[int, Change] = {}
    conflicts: dict[int, Holding] = {}
    must_hold = window.must_hold if window is not None else frozenset()
    may_hold = window.may_hold if window is not None else frozenset()
    for version in sorted({*holdings, *must_hold}):
        holding = holdings.get(version)
        if holding == target and version in may_hold:
            continue
        if version in must_hold and holding is None:
            changes[version] = Change.ADD
        elif not owns(owned, holding):
            if version in must_hold:
                conflicts[version] = holding
        elif version in may_hold:
            changes[version] = Change.REPLACE
        elif prune:
            changes[version] = Change.REMOVE
    return Plan(changes, conflicts)


@dataclass(frozen=True)
class Drift:
    """How the policies differ from the window, as `layer-share verify` reports it."""

    missing: tuple[int, ...]  # must hold the grant, and hold nothing under its StatementId
    changed: tuple[int, ...]  # must or may hold it, and hold other content under its StatementId
    outside: tuple[int, ...]  # hold the grant where the window does not allow it


def drift(target: GrantStatement, window: Window, holdings: Mapping[int, Holding]) -> Drift:
    """Compare the grant's layer against its window. Outside the window only the target content counts: other
    content there is somebody else's or an earlier grant's, which verify cannot tell apart."""
    missing, changed, outside = [], [], []
    for version in sorted({*holdings, *window.must_hold}):
        holding = holdings.get(version)
        if version in window.must_hold and holding is None:
            missing.append(version)
        elif version in window.may_hold and holding is not None and holding != target:
            changed.append(version)
        elif version not in window.may_hold and holding == target:
            outside.append(version)
    return Drift(tuple(missing), tuple(changed), tuple(outside))


def owned_contents(target: GrantStatement, *others: GrantStatement | None) -> frozenset[GrantStatement]:
    """The contents that are the grant's under the target's StatementId: the target, and any earlier content of
    the same resource under the same StatementId."""
    return frozenset(
        {target, *(other for other in others if other is not None and other.statement_id == target.statement_id)}
    )
