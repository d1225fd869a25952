"""`layer-share try` on a user-shaped app (tests/cli/user_apps.py): a stack publishes its own layer and shares it
with keep_versions=2, a second stack shares it through a cross-stack reference, and the layer's content changes
between three synths. No --parameters: the layer versions come from the assets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.user_apps import CONSUMER, PARTNER, layer_share, synth

pytestmark = pytest.mark.slow
LAYER = "Tools14E15C69"  # CloudFormation names a LayerVersion without LayerName after its logical ID


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("layers-app")
    (directory / "app").mkdir()
    return [synth(directory / "app", directory / f"v{number}", content) for number, content in enumerate("abc", 1)]


def diff_rows(output: str) -> set[tuple[str, str, str]]:
    """(change, layer version, principal) of each row of the Diff table."""
    table = output.split("\nDiff:\n")[1].split("\n\n")[0]
    return {(row[0], row[1], row[4]) for row in (line.split() for line in table.splitlines()[1:])}


def test_a_history_of_layer_contents_grants_the_new_version_and_revokes_beyond_the_kept_two(history):
    v1, v2, v3 = history

    run = layer_share("try", str(v3), "--from", str(v1), "--from", str(v2))

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    diff = diff_rows(run.stdout)
    assert ("granted", f"{LAYER}:3", PARTNER) in diff
    assert ("revoked", f"{LAYER}:1", PARTNER) in diff  # keep_versions=2: versions 2 and 3 keep it
    assert ("kept", f"{LAYER}:2", PARTNER) in diff
    # The other stack's grant names the same layer through Fn::ImportValue; it keeps every version.
    assert ("granted", f"{LAYER}:3", CONSUMER) in diff
    assert ("kept", f"{LAYER}:1", CONSUMER) in diff
    assert f"Retain  Layers/{LAYER} (arn:aws:lambda:eu-west-1:111122223333:layer:{LAYER}:2, replaced" in run.stdout


def test_an_unchanged_asset_keeps_its_layer_version(history):
    v1, *_ = history

    run = layer_share("try", str(v1), "--from", str(v1))

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    change = run.stdout.split("Change to")[1].split("Grants before the change:")[0]
    assert "Update" not in change and "Create" not in change and "Delete" not in change
    assert {row[1] for row in diff_rows(run.stdout)} == {f"{LAYER}:1"}


def without_stack(assembly: Path, artifact_id: str, copy: Path) -> Path:
    """The assembly as a synth that no longer holds the stack `artifact_id`."""
    shutil.copytree(assembly, copy, symlinks=True)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["artifacts"][artifact_id]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_a_stack_missing_from_the_new_synth_is_left_alone_unless_destroy_is_given(history, tmp_path):
    v1, *_ = history
    layers_only = without_stack(v1, "Consumers", tmp_path / "layers-only")

    left = layer_share("try", str(layers_only), "--from", str(v1))
    destroyed = layer_share("try", str(layers_only), "--from", str(v1), "--destroy")

    assert left.returncode == 0, left.stdout[-3000:] + left.stderr[-3000:]
    assert "Left    Consumers (not in this synth" in left.stdout
    assert ("kept", f"{LAYER}:1", CONSUMER) in diff_rows(left.stdout)
    assert destroyed.returncode == 0, destroyed.stdout[-3000:] + destroyed.stderr[-3000:]
    assert "Delete  Consumers/ToolsToConsumer255A2A88 (removed)" in destroyed.stdout
    assert ("revoked", f"{LAYER}:1", CONSUMER) in diff_rows(destroyed.stdout)


def test_assets_are_found_through_the_asset_manifest_without_asset_metadata(history, tmp_path):
    v1, *_ = history
    copy = tmp_path / "no-metadata"
    shutil.copytree(v1, copy, symlinks=True)
    for template in copy.glob("*.template.json"):
        text = json.loads(template.read_text())
        for resource in text["Resources"].values():
            resource.get("Metadata", {}).pop("aws:asset:path", None)
        template.write_text(json.dumps(text))

    run = layer_share("try", str(copy))

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert ("granted", f"{LAYER}:1", PARTNER) in diff_rows(run.stdout)
