"""The library as a user gets it: distributions built from the sources, installed into bare virtualenvs.

A virtualenv here holds only what pip resolves from the distribution's own declared dependencies: no `.pth`,
no `--no-deps`, nothing of this project's environment. The dependencies come from the package index once per
session (pip's cache makes that quick), into a wheelhouse that every install then resolves from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# Besides the packages' source roots, what a distribution is built from.
PROJECT_FILES = ("pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "CHANGELOG.md")
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet")


@dataclass(frozen=True)
class Distributions:
    wheel: Path
    sdist: Path


def source_roots() -> set[str]:
    """The top-level directories that pyproject.toml maps its packages from."""
    return {Path(path).parts[0] for path in PYPROJECT["tool"]["setuptools"]["package-dir"].values()}


def user_environment() -> dict[str, str]:
    """This process's environment without its import path, as a user's shell would have it."""
    environment = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**environment, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


@pytest.fixture(scope="session")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    """An sdist, and a wheel built from that sdist, as `python -m build` makes them."""
    # Built from a copy, so the checkout gets no build/ or egg-info of its own.
    project = tmp_path_factory.mktemp("project")
    for name in (*PROJECT_FILES, *sorted(source_roots())):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, project / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(project)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return Distributions(wheel, sdist)


@pytest.fixture(scope="session")
def wheelhouse(distributions: Distributions, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What pip resolves for the wheel from the package index, and the build backend the sdist declares."""
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    build_requirements = PYPROJECT["build-system"]["requires"]
    for requirement in (str(distributions.wheel), *build_requirements):
        subprocess.run([*PIP, "download", "--dest", str(wheelhouse), requirement], check=True, timeout=600)
    return wheelhouse


@pytest.fixture(scope="session")
def clean_virtualenv(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """Install one distribution into a new, bare virtualenv and return its interpreter."""

    def install(distribution: Path) -> Path:
        venv = tmp_path_factory.mktemp("venv")
        subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], check=True)
        python = venv / "bin" / "python"
        # --no-compile: bytecode is written on first import instead, which keeps the install to seconds.
        subprocess.run(
            [
                *PIP,
                "--python",
                str(python),
                "install",
                "--no-compile",
                "--no-index",
                "--find-links",
                str(wheelhouse),
                str(distribution),
            ],
            check=True,
            timeout=600,
            env=user_environment(),
        )
        return python

    return install
