"""A user's install: the wheel or the sdist in a bare virtualenv, then a user-shaped app synthesized there."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest

from layer_share.asset import BUNDLED_PACKAGES, package_sources

from .conftest import REPO, Distributions, user_environment

pytestmark = pytest.mark.slow

USER_APP = Path(__file__).with_name("user_app.py")
GRANT = "Custom::LayerVersionPermission"
PACKAGES = ("layer_share", "layer_share_handler")
# What the app's grants need of a Lambda runtime that is not in the asset: the runtime provides it.
RUNTIME_ONLY = ("boto3", "botocore")


def synthesize_user_app(python: Path, workdir: Path) -> Path:
    """Run the user's app from a directory of its own, so nothing of this repository is on its path."""
    app = workdir / "app.py"
    shutil.copy(USER_APP, app)
    outdir = workdir / "cdk.out"
    subprocess.run(
        [str(python), str(app), str(outdir)],
        cwd=workdir,
        env=user_environment(),
        check=True,
        timeout=600,
        capture_output=True,
    )
    return outdir


def templates(outdir: Path) -> dict[str, dict[str, Any]]:
    """Every template in the cloud assembly, Stage sub-assemblies and nested stacks included, by file name."""
    return {path.name: json.loads(path.read_text()) for path in outdir.rglob("*.template.json")}


def grant_count(template: dict[str, Any]) -> int:
    return sum(1 for resource in template["Resources"].values() if resource["Type"] == GRANT)


def handler_asset(outdir: Path) -> Path:
    (function,) = (
        body
        for body in json.loads((outdir / "DevLayers.template.json").read_text())["Resources"].values()
        if body["Type"] == "AWS::Lambda::Function"
    )
    return outdir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"


def installed_distributions(python: Path) -> set[str]:
    listing = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print('\\n'.join(d.name for d in m.distributions()))"],
        check=True,
        capture_output=True,
        text=True,
        env=user_environment(),
    )
    return {name.lower().replace("_", "-").replace(".", "-") for name in listing.stdout.split()}


def wheel_names(wheelhouse: Path) -> set[str]:
    return {path.name.split("-")[0].lower().replace("_", "-").replace(".", "-") for path in wheelhouse.glob("*.whl")}


@pytest.fixture(scope="session")
def checkout_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same app synthesized with this checkout's own environment, for comparison."""
    return synthesize_user_app(Path(sys.executable), tmp_path_factory.mktemp("checkout-app"))


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_a_users_app_synthesizes_from_a_clean_virtualenv(
    kind: str,
    distributions: Distributions,
    wheelhouse: Path,
    clean_virtualenv: Callable[[Path], Path],
    checkout_synth: Path,
    tmp_path: Path,
) -> None:
    python = clean_virtualenv(getattr(distributions, kind))

    installed = installed_distributions(python)
    build_backend = {"setuptools"}
    assert installed == wheel_names(wheelhouse) - build_backend, "only what the wheel declares, nothing borrowed"
    assert not installed & set(RUNTIME_ONLY), "synthesizing needs no boto3"

    outdir = synthesize_user_app(python, tmp_path)

    counts = {name: grant_count(template) for name, template in templates(outdir).items()}
    tools_grants = 1 + 30  # the parameter's grant, and one organization grant per tools version
    assert counts == {
        "DevLayers.template.json": tools_grants,
        "DevLayersRuntimeA8301288.nested.template.json": 1,
        "AuditLayers.template.json": 2,
        "ProdLayers45A28E86.template.json": tools_grants,
        "ProdLayersRuntime20E65437.nested.template.json": 1,
    }
    asset = handler_asset(outdir)
    expected_files = sorted(path.as_posix() for package in BUNDLED_PACKAGES for path in package_sources(package))
    assert sorted(path.relative_to(asset).as_posix() for path in asset.rglob("*") if path.is_file()) == expected_files
    assert asset.name == handler_asset(checkout_synth).name, "the same asset hash as from the checkout"


def test_type_checkers_see_the_library_types_in_a_users_app(
    distributions: Distributions, clean_virtualenv: Callable[[Path], Path], tmp_path: Path
) -> None:
    python = clean_virtualenv(distributions.wheel)
    app = tmp_path / "typed_app.py"
    app.write_text(
        "import aws_cdk as cdk\n"
        "from layer_share import LayerVersionPermission\n\n"
        "stack = cdk.Stack(cdk.App(), 'Typed')\n"
        "LayerVersionPermission(stack, 'Share', layer_version_arn='arn:aws:lambda:eu-west-1:111122223333:layer:x:1',"
        " principal=223456789012)\n"
    )
    # aws-cdk-lib is typed too, but takes minutes to analyse: only this library's types are under test.
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n\n[mypy-aws_cdk.*,constructs.*,jsii.*]\nfollow_imports = skip\n")
    mypy = Path(sys.executable).with_name("mypy")
    result = subprocess.run(
        [str(mypy), "--config-file", str(config), "--python-executable", str(python), str(app)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=user_environment(),
        timeout=600,
    )
    assert "py.typed" not in result.stdout and "library stubs" not in result.stdout
    assert 'Argument "principal" to "LayerVersionPermission" has incompatible type "int"; expected "str"' in (
        result.stdout
    ), result.stdout


def test_the_distributions_carry_the_license_type_markers_and_metadata(distributions: Distributions) -> None:
    wheel_files = zipfile.ZipFile(distributions.wheel).namelist()
    for package in PACKAGES:
        assert f"{package}/py.typed" in wheel_files
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel_files)
    (metadata_name,) = (name for name in wheel_files if name.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(zipfile.ZipFile(distributions.wheel).read(metadata_name).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert not any(requirement.startswith(RUNTIME_ONLY) for requirement in metadata.get_all("Requires-Dist"))

    with tarfile.open(distributions.sdist) as sdist:
        sdist_files = {Path(name).relative_to(Path(name).parts[0]).as_posix() for name in sdist.getnames()[1:]}
    assert {"LICENSE", "CHANGELOG.md", "constructs/layer_share/py.typed"} <= sdist_files
    assert (REPO / "LICENSE").read_text().startswith("\n                                 Apache License")
