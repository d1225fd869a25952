"""`layer-share try` over a history of synths with retention: what it expects is what the handler keeps.

The assemblies are written by hand, with the handler's real code as their asset, so each case is a few grants.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from layer_share.asset import BUNDLED_PACKAGES, package_dir
from layer_share_cli.policies import VersionStatement
from layer_share_cli.try_command import run_try
from layer_share_handler.physical_id import LayerVersion
from layer_share_handler.statement import GrantStatement

ACCOUNT, REGION, PARTNER = "111122223333", "eu-west-1", "444455556666"
TOOLS = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:tools"
pytestmark = pytest.mark.slow  # each case starts an embedded Lambda of its own

FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Metadata": {"aws:asset:path": "asset.handler"},
    "Properties": {"Handler": "layer_share_handler.entry.handler", "Timeout": 60},
}


def synth(directory: Path, version: int, statement_id: str = "share", keep_versions: str = "2") -> Path:
    """A cloud assembly with one grant of the tools layer's `version`, as the construct writes it."""
    grant = {
        "Type": "Custom::LayerVersionPermission",
        "UpdateReplacePolicy": "Delete",
        "DeletionPolicy": "Delete",
        "Properties": {
            "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
            "LayerName": TOOLS,
            "VersionNumber": str(version),
            "StatementId": statement_id,
            "Principal": PARTNER,
            "KeepVersions": keep_versions,
            "RevokeRetainedOnDelete": "true",
        },
    }
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Layers": {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{ACCOUNT}/{REGION}",
                "properties": {"templateFile": "Layers.template.json"},
                "displayName": "Layers",
            }
        },
    }
    directory.mkdir()
    (directory / "manifest.json").write_text(json.dumps(manifest))
    template = {"Resources": {"Handler": FUNCTION, "Share": grant}}
    (directory / "Layers.template.json").write_text(json.dumps(template))
    for package in BUNDLED_PACKAGES:
        shutil.copytree(package_dir(package), directory / "asset.handler" / package)
    return directory


def shared(statement_id: str, *versions: int) -> set[VersionStatement]:
    return {
        VersionStatement(LayerVersion("aws", REGION, ACCOUNT, "tools", version), GrantStatement(statement_id, PARTNER))
        for version in versions
    }


def test_a_history_of_version_moves_keeps_the_newest_versions(tmp_path: Path) -> None:
    history = [synth(tmp_path / f"v{version}", version) for version in (1, 2)]

    result = run_try(synth(tmp_path / "v3", 3), history, [], {}, lambda _: None)

    assert result.before == shared("share", 1, 2)
    assert result.after == shared("share", 2, 3)


def test_a_new_statement_id_retires_the_old_statement_on_every_version(tmp_path: Path) -> None:
    history = [synth(tmp_path / "v1", 1), synth(tmp_path / "v2", 2)]

    result = run_try(synth(tmp_path / "v3", 3, statement_id="share-renamed"), history, [], {}, lambda _: None)

    assert result.before == shared("share", 1, 2)
    # The renamed statement is a new grant: its window is the newest two versions, and nothing of the old one stays.
    assert result.after == shared("share-renamed", 2, 3)
