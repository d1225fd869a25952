"""The change as CloudFormation plays it: Create and Update first, then a cleanup Delete for what was replaced or
removed, unless UpdateReplacePolicy or DeletionPolicy is Retain. A recording stand-in for the handler says whether
an Update replaced the grant, as the real handler's PhysicalResourceId does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from layer_share_cli.emulator.cloudformation import Deployed, Function
from layer_share_cli.grants import DeclaredGrant, HandlerCode, StackScope
from layer_share_cli.try_command import Stacks, play

SCOPE = StackScope("Prod/Layers", "Prod-Layers", "111122223333", "eu-west-1")
OLD_CODE, NEW_CODE = HandlerCode(Path("/old"), "entry.handler"), HandlerCode(Path("/new"), "entry.handler")


def no_other_versions(_: object) -> list[int]:
    """These grants have no retention properties, so no layer's versions need listing."""
    return []


def grant(logical_id: str, version: str = "1", principal: str = "444455556666", **policies: bool) -> DeclaredGrant:
    properties = {
        "LayerName": "arn:aws:lambda:eu-west-1:111122223333:layer:tools",
        "VersionNumber": version,
        "StatementId": logical_id,
        "Principal": principal,
    }
    return DeclaredGrant(
        SCOPE,
        logical_id,
        properties,
        update_replace_retain=policies.get("update_replace_retain", False),
        retain_on_delete=policies.get("retain_on_delete", False),
        handler=(policies.get("new_code", True) and NEW_CODE) or OLD_CODE,
        function_arn="arn:aws:lambda:eu-west-1:111122223333:function:Handler",
    )


@dataclass
class RecordingCloudFormation:
    """Records each event; an Update replaces the grant when its layer version changed, as the handler decides."""

    sent: list[tuple[str, str, dict[str, str], HandlerCode | None]] = field(default_factory=list)

    def create(self, new: DeclaredGrant) -> Deployed:
        self.sent.append(("Create", new.logical_id, dict(new.properties), None))
        return Deployed(new, f"{new.logical_id}@{new.properties['VersionNumber']}")

    def update(self, deployed: Deployed, new: DeclaredGrant) -> Deployed:
        self.sent.append(("Update", new.logical_id, dict(new.properties), None))
        return Deployed(new, f"{new.logical_id}@{new.properties['VersionNumber']}")

    def delete(self, deployed: Deployed, function: Function, live: Deployed | None = None) -> None:
        self.sent.append(("Delete", deployed.grant.logical_id, dict(deployed.grant.properties), function.code))


def deployed(*grants: DeclaredGrant) -> Stacks:
    return Stacks(
        {item.key: Deployed(item, f"{item.logical_id}@{item.properties['VersionNumber']}") for item in grants}
    )


def test_a_replaced_grant_is_deleted_after_every_create_and_update_with_its_old_properties():
    stacks, cloudformation = deployed(grant("Moved"), grant("Kept")), RecordingCloudFormation()

    play(
        cloudformation,
        stacks,
        [grant("Moved", version="2"), grant("Kept"), grant("Added")],
        lambda _: None,
        no_other_versions,
        set(),
    )

    assert [(kind, logical_id) for kind, logical_id, _, _ in cloudformation.sent] == [
        ("Update", "Moved"),
        ("Create", "Added"),
        ("Delete", "Moved"),
    ]
    assert cloudformation.sent[-1][2]["VersionNumber"] == "1"
    assert cloudformation.sent[-1][3] == NEW_CODE  # the stack's function runs the cleanup with its new code
    assert stacks.deployed[("Prod/Layers", "Moved")].physical_id == "Moved@2" and not stacks.left


def test_an_update_in_place_has_no_cleanup():
    stacks, cloudformation = deployed(grant("Share")), RecordingCloudFormation()

    play(cloudformation, stacks, [grant("Share", principal="777788889999")], lambda _: None, no_other_versions, set())

    assert [kind for kind, *_ in cloudformation.sent] == ["Update"]


def test_update_replace_policy_retain_keeps_the_old_grant():
    stacks, cloudformation = deployed(grant("Moved")), RecordingCloudFormation()
    messages: list[str] = []

    play(
        cloudformation,
        stacks,
        [grant("Moved", version="2", update_replace_retain=True)],
        messages.append,
        no_other_versions,
        set(),
    )

    assert [kind for kind, *_ in cloudformation.sent] == ["Update"]
    assert [grant.layer_version.version for grant in stacks.left] == [1]
    assert "  Retain  Prod/Layers/Moved (replaced; its policy is Retain)" in messages


def test_a_removed_grant_is_deleted_unless_its_deletion_policy_is_retain():
    stacks = deployed(grant("Gone", new_code=False), grant("Kept", retain_on_delete=True))
    cloudformation = RecordingCloudFormation()

    play(cloudformation, stacks, [], lambda _: None, no_other_versions, set())

    # The template no longer has a function for the stack: the old function runs the Delete.
    assert [(kind, logical_id, code) for kind, logical_id, _, code in cloudformation.sent] == [
        ("Delete", "Gone", OLD_CODE)
    ]
    assert list(stacks.left.values()) == ["Prod/Layers/Kept (retained)"] and stacks.deployed == {}
