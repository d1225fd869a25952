"""A safety net for the example app's template: logical IDs and resource shapes are pinned.

A changed logical ID replaces every grant in every user's stack, so changing one must be deliberate: regenerate with
`UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/construct/test_example_snapshot_cdk.py` and say so in the
CHANGELOG. The grants and the handler's layer policies are pinned whole; other resources by type, attributes and
property names, so that tuning the function (memory, code) needs no new snapshot.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .conftest import SynthesizedApp

SNAPSHOT = Path(__file__).with_name("snapshots") / "example_app.json"
PINNED_WHOLE = ("Custom::LayerVersionPermission", "AWS::IAM::ManagedPolicy")
ATTRIBUTES = ("DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "Condition")


def shape(template: dict[str, Any]) -> dict[str, Any]:
    shapes = {}
    for name, body in sorted(template["Resources"].items()):
        entry: dict[str, Any] = {"Type": body["Type"], **{key: body[key] for key in ATTRIBUTES if key in body}}
        properties = body.get("Properties", {})
        entry["Properties"] = properties if body["Type"] in PINNED_WHOLE else sorted(properties)
        shapes[name] = entry
    return shapes


def test_the_example_templates_logical_ids_and_shapes_match_the_snapshot(example: SynthesizedApp) -> None:
    current = shape(example.template)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())
