"""Synthesize one grant the way a user's app would, wherever this interpreter imports the library from.

    python small_stack.py <outdir>

Prints JSON: where each package was imported from, the handler asset's hash, and the asset's files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import aws_cdk as cdk
import crhelper

import layer_share
import layer_share_handler
from layer_share import LayerVersionPermission


def main(outdir: str) -> None:
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "Small")
    LayerVersionPermission(
        stack,
        "Share",
        layer_version_arn="arn:aws:lambda:eu-west-1:111122223333:layer:tools:7",
        principal="123456789012",
    )
    template = app.synth().get_stack_by_name("Small").template
    (function,) = [body for body in template["Resources"].values() if body["Type"] == "AWS::Lambda::Function"]
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset_dir = Path(outdir, f"asset.{asset_hash}")
    print(
        json.dumps(
            {
                "imported_from": {
                    module.__name__: module.__file__ for module in (layer_share, layer_share_handler, crhelper)
                },
                "asset_hash": asset_hash,
                "asset_files": sorted(path.relative_to(asset_dir).as_posix() for path in asset_dir.rglob("*.*")),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
