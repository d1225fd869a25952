"""The handler's code asset: only the handler and crhelper sources, the same hash wherever it is synthesized.

The same asset from an installed wheel or sdist in a bare virtualenv: tests/packaging."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import crhelper
import pytest

from layer_share.asset import BUNDLED_PACKAGES, package_sources

from .conftest import REPO, SynthesizedApp, synth_example_app

SMALL_STACK = Path(__file__).with_name("small_stack.py")


def expected_asset_files() -> list[str]:
    return sorted(path.as_posix() for package in BUNDLED_PACKAGES for path in package_sources(package))


def asset_files(example: SynthesizedApp) -> list[str]:
    asset_dir = example.outdir / f"asset.{example.function_asset_hash()}"
    return sorted(path.relative_to(asset_dir).as_posix() for path in asset_dir.rglob("*") if path.is_file())


def synth_small_stack(python: str, cwd: Path, **env: str) -> dict[str, Any]:
    """Run small_stack.py under `python` from `cwd`, with nothing of this process's import path."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    environment.update(JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", **env)
    result = subprocess.run(
        [python, str(SMALL_STACK), str(cwd / "cdk.out")],
        cwd=cwd,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(result.stdout)


def test_the_asset_holds_only_the_handler_and_crhelper_sources(example: SynthesizedApp) -> None:
    files = asset_files(example)
    assert files == expected_asset_files()
    assert "layer_share_handler/entry.py" in files and "crhelper/resource_helper.py" in files
    assert all(file.endswith(".py") for file in files)


def test_the_asset_hash_is_the_same_in_another_output_directory(example: SynthesizedApp, tmp_path: Path) -> None:
    assert synth_example_app(tmp_path).function_asset_hash() == example.function_asset_hash()


@pytest.mark.slow
def test_the_asset_hash_is_the_same_from_another_copy_of_the_sources(example: SynthesizedApp, tmp_path: Path) -> None:
    """Another checkout: fresh timestamps, stray bytecode and stubs next to the sources, another directory."""
    sources = tmp_path / "checkout"
    for package_dir in (
        REPO / "constructs" / "layer_share",
        REPO / "handler" / "layer_share_handler",
        Path(crhelper.__file__).parent,
    ):
        shutil.copytree(package_dir, sources / package_dir.name)
    (sources / "layer_share_handler" / "__pycache__").mkdir(exist_ok=True)
    (sources / "layer_share_handler" / "__pycache__" / "entry.cpython-314.pyc").write_bytes(b"stale")
    (sources / "layer_share_handler" / "entry.pyi").write_text("def handler(event, context): ...\n")

    synthesized = synth_small_stack(sys.executable, tmp_path, PYTHONPATH=str(sources))

    for name, file in synthesized["imported_from"].items():
        assert Path(file).is_relative_to(sources), name
    assert synthesized["asset_hash"] == example.function_asset_hash()
    assert synthesized["asset_files"] == expected_asset_files()
