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
PACKAGES = ("layer_share", "layer_share_handler", "layer_share_cli")
# Run the user's app as `python app.py OUTDIR` would, then report what the synth imported of the handler's runtime.
SYNTH_AND_REPORT = (
    "import json, runpy, sys; runpy.run_path('app.py', run_name='__main__');"
    " print(json.dumps(sorted({'boto3', 'botocore', 'crhelper'} & set(sys.modules))))"
)


def synthesize_user_app(python: Path, workdir: Path) -> Path:
    """Run the user's app from a directory of its own, so nothing of this repository is on its path."""
    app = workdir / "app.py"
    shutil.copy(USER_APP, app)
    outdir = workdir / "cdk.out"
    synth = subprocess.run(
        [str(python), "-c", SYNTH_AND_REPORT, str(outdir)],
        cwd=workdir,
        env=user_environment(),
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    # The construct makes no AWS call: it locates crhelper's files for the asset, and imports nothing that needs
    # the Lambda runtime's boto3.
    assert json.loads(synth.stdout.splitlines()[-1]) == [], "synthesizing imported the handler's runtime"
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


def wheelhouse_names(wheelhouse: Path) -> set[str]:
    """The distributions in the wheelhouse, normalized: wheels are `name-version-...`, sdists `name-version.tar.gz`."""
    names = [path.name.split("-")[0] for path in wheelhouse.glob("*.whl")]
    names += [path.name.removesuffix(".tar.gz").rsplit("-", 1)[0] for path in wheelhouse.glob("*.tar.gz")]
    return {name.lower().replace("_", "-").replace(".", "-") for name in names}


@pytest.fixture(scope="session")
def checkout_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same app synthesized with this checkout's own environment, for comparison."""
    return synthesize_user_app(Path(sys.executable), tmp_path_factory.mktemp("checkout-app"))


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_a_users_app_synthesizes_from_a_clean_virtualenv(
    kind: str,
    distributions: Distributions,
    wheelhouse: Path,
    clean_virtualenv: Callable[..., Path],
    checkout_synth: Path,
    tmp_path: Path,
) -> None:
    python = clean_virtualenv(getattr(distributions, kind))

    installed = installed_distributions(python)
    assert installed <= wheelhouse_names(wheelhouse), "only what pip resolved from the declared dependencies"
    assert "moto" not in installed, "the embedded Lambda is the [local] extra's"

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
    distributions: Distributions, clean_virtualenv: Callable[..., Path], tmp_path: Path
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
    # The command's emulator is a subpackage of its own: `layer-share try` and `standin` import it.
    assert "layer_share_cli/emulator/faithful_moto.py" in wheel_files
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel_files)
    (metadata_name,) = (name for name in wheel_files if name.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(zipfile.ZipFile(distributions.wheel).read(metadata_name).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    requirements = metadata.get_all("Requires-Dist")
    assert any(requirement.startswith("aws-cdk-lib") and ">=" in requirement for requirement in requirements)
    assert "local" in metadata.get_all("Provides-Extra")

    with tarfile.open(distributions.sdist) as sdist:
        sdist_files = {Path(name).relative_to(Path(name).parts[0]).as_posix() for name in sdist.getnames()[1:]}
    assert {"LICENSE", "CHANGELOG.md", "constructs/layer_share/py.typed"} <= sdist_files
    assert (REPO / "LICENSE").read_text().startswith("\n                                 Apache License")


def test_layer_share_try_runs_a_users_app_from_a_clean_virtualenv_with_the_local_extra(
    distributions: Distributions, clean_virtualenv: Callable[..., Path], tmp_path: Path
) -> None:
    """tests/user_app: a Stage, a nested stack, organization-only and public grants, a principal parameter."""
    python = clean_virtualenv(distributions.wheel, "[local]")
    app = tmp_path / "user_app"
    shutil.copytree(REPO / "tests" / "user_app", app)
    cdk = REPO / "node_modules" / ".bin" / "cdk"
    subprocess.run(
        [str(cdk), "synth", "--quiet", "--app", f"{python} app.py", "--output", str(tmp_path / "cdk.out")],
        cwd=app,
        env=user_environment(),
        check=True,
        timeout=600,
        capture_output=True,
    )

    run = subprocess.run(
        [
            str(python.with_name("layer-share")),
            "try",
            str(tmp_path / "cdk.out"),
            "--parameters",
            "ConsumerAccount=777788889999",
        ],
        cwd=tmp_path,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "all SUCCESS" in run.stdout
    assert "Prod/Layers" in run.stdout and "Sandbox" in run.stdout
