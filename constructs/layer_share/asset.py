"""The handler's code asset, staged from the installed packages: no Docker, no network, no build step.

Only the `*.py` sources of `layer_share_handler` and `crhelper` go in; the Lambda runtime provides
boto3 and compiles the sources itself. Bytecode caches differ from one machine to the next and would
change the asset hash; stubs and package metadata are not needed at run time.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingFileAccess,
    BundlingOptions,
    BundlingOutput,
    DockerImage,
    DockerVolume,
    ILocalBundling,
)
from aws_cdk import aws_lambda as lambda_

# The packages the function imports. They are located, never imported: crhelper imports boto3, which the
# Lambda runtime provides but a synth environment need not have.
BUNDLED_PACKAGES = ("layer_share_handler", "crhelper")


def package_dir(package: str) -> Path:
    """Where this interpreter would import `package` from: a checkout, an editable install or a wheel."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the handler asset needs the package {package!r}, which is not installed; "
            "reinstall layer-version-permission, which depends on it",
            name=package,
        )
    return Path(next(iter(spec.submodule_search_locations)))


def package_sources(package: str) -> list[Path]:
    """The package's `.py` files, relative to the directory that contains the package."""
    root = package_dir(package)
    return sorted(path.relative_to(root.parent) for path in root.rglob("*.py"))


@jsii.implements(ILocalBundling)
class _CopySources:
    # ILocalBundling's signature: jsii passes the BundlingOptions as these keywords. Copying needs none of them.
    def try_bundle(
        self,
        output_dir: str,
        *,
        image: DockerImage,
        bundling_file_access: BundlingFileAccess | None = None,
        command: Sequence[str] | None = None,
        entrypoint: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        local: ILocalBundling | None = None,
        network: str | None = None,
        output_type: BundlingOutput | None = None,
        platform: str | None = None,
        security_opt: str | None = None,
        user: str | None = None,
        volumes: Sequence[DockerVolume | dict[str, Any]] | None = None,
        volumes_from: Sequence[str] | None = None,
        working_directory: str | None = None,
    ) -> bool:
        for package in BUNDLED_PACKAGES:
            root = package_dir(package).parent
            for relative in package_sources(package):
                target = Path(output_dir, relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                # Contents only: CDK's fingerprint ignores timestamps and modes, and so does the hash.
                shutil.copyfile(root / relative, target)
        return True


def handler_code() -> lambda_.Code:
    """The function's code. Its hash is that of the staged files (OUTPUT), so every machine agrees on it."""
    return lambda_.Code.from_asset(
        str(package_dir("layer_share_handler")),
        asset_hash_type=AssetHashType.OUTPUT,
        # BundlingOptions requires an image; it is never pulled, because local bundling always succeeds.
        bundling=BundlingOptions(image=DockerImage.from_registry("local-bundling-only"), local=_CopySources()),
    )
