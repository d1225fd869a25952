"""A stateful property test: random deployments of one grant against the stand-in, through the real entry point.

Hypothesis plays moves forward and back, changes of principal and keep_versions, rolled-back updates, redelivered
events, throttled cleanups (which CloudFormation abandons) and stack Deletes (which the user retries), statements
made and removed by hand, and versions the owner deletes. After every step it checks what must hold whatever came
before:
1. the window holds the grant (unless a foreign statement stands there, which the event must have reported);
2. no version outside the window holds it, once a cleanup or an in-place update has succeeded;
3. statements the grant does not own are never touched;
4. after a stack Delete has succeeded, nothing of the grant remains.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from layer_share_handler.ownership import window_of
from layer_share_handler.rules import Retention
from tests.handler.grant_resource import STATEMENT_ID, GrantResource, grant_properties
from tests.standins import publish_layer

pytestmark = pytest.mark.slow
GRANT_PRINCIPALS = ("223456789012", "334567890123")
FOREIGN_PRINCIPALS = ("445566778899", "556677889900")
KEEP = st.sampled_from([None, "1", "2", "3"])
EXAMPLES = int(os.environ.get("OWNERSHIP_EXAMPLES", "40"))


def read_policies(lambda_api: Any, layer_arn: str, versions: list[int]) -> dict[int, dict[str, str]]:
    """Each version's principal (account or '*') by Sid."""
    found = {}
    for version in versions:
        try:
            policy = lambda_api.get_layer_version_policy(LayerName=layer_arn, VersionNumber=version)
        except lambda_api.exceptions.ResourceNotFoundException:
            found[version] = {}
            continue
        statements = json.loads(policy["Policy"])["Statement"]
        found[version] = {s["Sid"]: s["Principal"]["AWS"].split(":")[4] for s in statements}
    return found


class GrantDeployments(RuleBasedStateMachine):
    def __init__(self, invoke: Any, receiver: Any, lambda_api: Any, throttle: Any) -> None:
        super().__init__()
        self.invoke, self.receiver, self.api, self.throttle = invoke, receiver, lambda_api, throttle
        self.layer_name = f"machine-{uuid.uuid4().hex[:10]}"
        self.versions: list[int] = []
        self.grant: GrantResource | None = None
        self.deleted_stack = False
        self.foreign: dict[tuple[int, str], str] = {}  # (version, Sid) -> principal, made by hand
        self.pruned = True  # the last event that prunes succeeded, and none failed since
        self.drifted = False  # a person removed the grant's statement since the last Create or Update
        self.contents: set[str] = set()  # every principal the grant has had
        self.failures = False  # a cleanup failed at some point: older contents may be left, as documented
        self.last_event: tuple[str, dict[str, str], dict[str, Any]] | None = None
        self.stuck = False  # a rollback failed (UPDATE_ROLLBACK_FAILED): CloudFormation sends nothing more

    # -- the layer -----------------------------------------------------------------------------------------------

    @property
    def layer_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:layer:{self.layer_name}"

    def arn(self, version: int) -> str:
        return f"{self.layer_arn}:{version}"

    @initialize()
    def publish_first_versions(self) -> None:
        for _ in range(3):
            self.publish()

    @precondition(lambda self: len(self.versions) < 7)
    @rule()
    def publish(self) -> None:
        self.versions.append(int(publish_layer(self.api, self.layer_name).rsplit(":", 1)[1]))

    @precondition(lambda self: len(self.versions) > 2)
    @rule(data=st.data())
    def owner_deletes_an_older_version(self, data: st.DataObject) -> None:
        current = self.current()
        candidates = [v for v in self.versions if v != current]
        version = data.draw(st.sampled_from(candidates))
        self.api.delete_layer_version(LayerName=self.layer_name, VersionNumber=version)
        self.versions.remove(version)
        self.drifted = True  # the window moved to a version that never had to hold the grant; the next event fills it
        self.foreign = {key: principal for key, principal in self.foreign.items() if key[0] != version}

    # -- people ----------------------------------------------------------------------------------------------------

    @rule(data=st.data(), same_sid=st.booleans(), principal=st.sampled_from(FOREIGN_PRINCIPALS))
    def person_adds_a_statement(self, data: st.DataObject, same_sid: bool, principal: str) -> None:
        version = data.draw(st.sampled_from(self.versions))
        sid = STATEMENT_ID if same_sid else "someone-else"
        if sid in self.policies()[version]:
            return
        self.api.add_layer_version_permission(
            LayerName=self.layer_arn,
            VersionNumber=version,
            StatementId=sid,
            Action="lambda:GetLayerVersion",
            Principal=principal,
        )
        self.foreign[(version, sid)] = principal

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def person_removes_the_grants_statement(self, data: st.DataObject) -> None:
        version = data.draw(st.sampled_from(self.versions))
        if (version, STATEMENT_ID) in self.foreign or STATEMENT_ID not in self.policies()[version]:
            return
        self.api.remove_layer_version_permission(
            LayerName=self.layer_arn, VersionNumber=version, StatementId=STATEMENT_ID
        )
        self.drifted = True

    # -- CloudFormation --------------------------------------------------------------------------------------------

    @precondition(lambda self: self.grant is None and not self.deleted_stack)
    @rule(data=st.data(), principal=st.sampled_from(GRANT_PRINCIPALS), keep=KEEP)
    def create(self, data: st.DataObject, principal: str, keep: str | None) -> None:
        self.last_event = None
        version = data.draw(st.sampled_from(self.versions))
        properties = self.properties(version, principal, keep)
        grant = GrantResource(self.invoke, self.receiver, properties)
        response = grant.create()
        self.contents.add(principal)
        if response["Status"] == "SUCCESS":
            self.grant, self.drifted, self.pruned = grant, False, True
            self.last_event = ("Create", properties, {})
            return
        assert self.conflict_in_window(version, keep), response["Reason"]
        # CloudFormation rolls the Create back with a Delete of the ID it answered.
        assert grant.delete()["Status"] == "SUCCESS"

    @precondition(lambda self: self.live())
    @rule(
        data=st.data(),
        principal=st.sampled_from(GRANT_PRINCIPALS),
        keep=KEEP,
        roll_back=st.booleans(),
        throttle_cleanup=st.booleans(),
    )
    def update(
        self, data: st.DataObject, principal: str, keep: str | None, roll_back: bool, throttle_cleanup: bool
    ) -> None:
        assert self.grant is not None
        self.last_event = None
        version = data.draw(st.sampled_from(self.versions))
        new = self.properties(version, principal, keep)
        replaced = (self.grant.physical_id, self.grant.properties)
        response = self.grant.send("Update", new, physical_id=replaced[0], old_properties=replaced[1])
        self.contents.add(principal)
        if response["Status"] != "SUCCESS":
            assert self.conflict_in_window(version, keep), response["Reason"]
            self.roll_back_to(replaced, failed=(response["PhysicalResourceId"], new))
            return
        self.grant.physical_id, self.grant.properties = response["PhysicalResourceId"], new
        self.drifted = False
        moved = self.grant.physical_id != replaced[0]
        if roll_back:
            self.roll_back_to(replaced, failed=(self.grant.physical_id, new))
        elif not moved:
            self.pruned = True
            self.last_event = ("Update", new, {"physical_id": replaced[0], "old_properties": replaced[1]})
        elif throttle_cleanup:
            throttled = self.throttle("GetLayerVersionPolicy", 0)
            cleaned = self.grant.cleanup(replaced, timeout=3)
            throttled.lift()
            self.pruned = cleaned["Status"] == "SUCCESS"  # a FAILED cleanup is abandoned by CloudFormation, silently
            self.failures = self.failures or not self.pruned
        else:
            assert self.grant.cleanup(replaced)["Status"] == "SUCCESS"
            self.pruned = True

    def roll_back_to(self, restored: tuple[str, dict[str, str]], failed: tuple[str, dict[str, str]]) -> None:
        """The stack update failed: CloudFormation sends this resource an Update with the properties swapped, then
        deletes the copy the failed update made, if it made one."""
        assert self.grant is not None
        response = self.grant.send("Update", restored[1], physical_id=failed[0], old_properties=failed[1])
        if response["Status"] != "SUCCESS":  # UPDATE_ROLLBACK_FAILED: only a foreign statement in the window may do it
            assert self.conflict_in_window(int(restored[1]["VersionNumber"]), restored[1].get("KeepVersions"))
            self.stuck = True
            return
        self.grant.physical_id, self.grant.properties = response["PhysicalResourceId"], restored[1]
        if failed[0] != self.grant.physical_id:
            assert self.grant.cleanup(failed)["Status"] == "SUCCESS"
        self.pruned, self.drifted = True, False

    @precondition(lambda self: self.last_event is not None and self.live())
    @rule()
    def redeliver_the_last_event(self) -> None:
        """The same event again (Lambda retries an invocation): CloudFormation keeps the first answer."""
        assert self.grant is not None and self.last_event is not None
        request_type, properties, fields = self.last_event
        response = self.grant.send(request_type, properties, **fields)
        if response["Status"] != "SUCCESS":  # only a statement made by hand where the grant must be may refuse it
            assert self.conflict_in_window(self.current(), properties.get("KeepVersions")), response["Reason"]
            return
        assert response["PhysicalResourceId"].split("#")[:2] == self.grant.physical_id.split("#")[:2]
        self.drifted = False

    @precondition(lambda self: self.live())
    @rule(throttled_after=st.none() | st.integers(0, 2))
    def delete_the_stack(self, throttled_after: int | None) -> None:
        """A stack Delete; throttled after some removes, it fails, and the user retries it."""
        assert self.grant is not None
        self.last_event = None
        if throttled_after is not None:
            throttled = self.throttle("RemoveLayerVersionPermission", throttled_after)
            self.grant.delete(timeout=3)  # FAILED, unless it had no more than that to remove
            throttled.lift()
        response = self.grant.delete()  # the user retries the stack Delete
        assert response["Status"] == "SUCCESS", response["Reason"]
        self.deleted_stack = True

    # -- what must hold ----------------------------------------------------------------------------------------------

    @invariant()
    def ownership_holds(self) -> None:
        policies = self.policies()  # read once: every check below looks at the same moment
        self.foreign_statements_are_untouched(policies)
        if self.live() and not self.stuck:
            self.the_window_holds_the_grant(policies)
            self.nothing_outside_the_window_holds_the_grant(policies)
        if self.deleted_stack:
            self.a_deleted_stack_leaves_nothing_of_the_grant(policies)

    def foreign_statements_are_untouched(self, policies: dict[int, dict[str, str]]) -> None:
        for (version, sid), principal in self.foreign.items():
            assert policies[version].get(sid) == principal, f"the statement {sid} made by hand on {version} changed"

    def the_window_holds_the_grant(self, policies: dict[int, dict[str, str]]) -> None:
        if self.drifted:
            return
        for version in window_of(self.current(), self.versions, self.retention()).must_hold:
            if (version, STATEMENT_ID) not in self.foreign:
                assert policies[version].get(STATEMENT_ID) == self.principal(), f"version {version} lacks the grant"

    def nothing_outside_the_window_holds_the_grant(self, policies: dict[int, dict[str, str]]) -> None:
        if not self.pruned:
            return
        window = window_of(self.current(), self.versions, self.retention())
        for version, statements in policies.items():
            if version not in window.may_hold and (version, STATEMENT_ID) not in self.foreign:
                assert statements.get(STATEMENT_ID) not in self.owned(), f"version {version} still holds the grant"

    def a_deleted_stack_leaves_nothing_of_the_grant(self, policies: dict[int, dict[str, str]]) -> None:
        for version, statements in policies.items():
            if (version, STATEMENT_ID) not in self.foreign:
                assert statements.get(STATEMENT_ID) not in self.owned(), f"version {version} kept the grant"

    def owned(self) -> set[str]:
        """The grant's principals that must be gone where it may not be: every one it had, unless a cleanup failed
        (CloudFormation abandons it), after which a statement of a principal two changes back is no longer
        recognizable as the grant's (a documented limit)."""
        return {self.principal()} if self.failures else self.contents

    # -- reading the state -------------------------------------------------------------------------------------------

    def live(self) -> bool:
        return self.grant is not None and not self.deleted_stack and not self.stuck

    def current(self) -> int:
        return int(self.grant.properties["VersionNumber"]) if self.grant is not None else 0

    def principal(self) -> str:
        assert self.grant is not None
        return self.grant.properties["Principal"]

    def retention(self) -> Retention:
        assert self.grant is not None
        keep = self.grant.properties.get("KeepVersions")
        return Retention(int(keep) if keep else None, True)

    def properties(self, version: int, principal: str, keep: str | None) -> dict[str, str]:
        return grant_properties(
            self.arn(version),
            Principal=principal,
            RevokeRetainedOnDelete="true",
            **({"KeepVersions": keep} if keep else {}),
        )

    def conflict_in_window(self, version: int, keep: str | None) -> bool:
        must_hold = window_of(version, self.versions, Retention(int(keep) if keep else None, True)).must_hold
        return any((v, STATEMENT_ID) in self.foreign for v in must_hold)

    def policies(self) -> dict[int, dict[str, str]]:
        return read_policies(self.api, self.layer_arn, self.versions)


def test_every_deployment_history_keeps_the_ownership_invariants(invoke, receiver, lambda_api, throttle):
    run_state_machine_as_test(
        lambda: GrantDeployments(invoke, receiver, lambda_api, throttle),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
