"""Cloud assemblies written by hand, as cdk synth writes them: one stack with the grant handler and one grant."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from layer_share.asset import BUNDLED_PACKAGES, package_dir

ACCOUNT, REGION = "111122223333", "eu-west-1"
LAYER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:tools"
FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Metadata": {"aws:asset:path": "asset.handler"},
    "Properties": {"Handler": "layer_share_handler.entry.handler", "Timeout": 60},
}
GRANT = {
    "Type": "Custom::LayerVersionPermission",
    "Properties": {
        "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
        "LayerName": LAYER,
        "VersionNumber": "1",
        "StatementId": "share",
        "Principal": "444455556666",
    },
}


def write_assembly(
    directory: Path,
    template: Any = None,
    manifest: Any = None,
    account: str = ACCOUNT,
    region: str = REGION,
) -> Path:
    """A cloud assembly of one stack, Shares, in `account` and `region`: by default one grant of tools:1."""
    template = {"Resources": {"Handler": FUNCTION, "Share": GRANT}} if template is None else template
    manifest = (
        {
            "version": "55.0.0",
            "artifacts": {
                "Shares": {
                    "type": "aws:cloudformation:stack",
                    "environment": f"aws://{account}/{region}",
                    "properties": {"templateFile": "Shares.template.json"},
                }
            },
        }
        if manifest is None
        else manifest
    )
    directory.mkdir(exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / "Shares.template.json").write_text(json.dumps(template))
    return directory


def with_grant(**properties: Any) -> dict[str, Any]:
    grant = {**GRANT, "Properties": {**GRANT["Properties"], **properties}}
    return {"Resources": {"Handler": FUNCTION, "Share": grant}}


def add_handler_asset(directory: Path) -> Path:
    """The handler's real code as the assembly's `asset.handler`, as cdk synth bundles it."""
    for package in BUNDLED_PACKAGES:
        shutil.copytree(package_dir(package), directory / "asset.handler" / package)
    return directory
