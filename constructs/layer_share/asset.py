"""The handler's code asset, staged from the installed packages: no Docker, no network, no build step.

Only the `*.py` sources of `layer_share_handler` and `crhelper` go in; the Lambda runtime provides
boto3 and compiles the sources itself. Bytecode caches differ from one machine to the next and would
change the asset hash; stubs and package metadata are not needed at run time.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import crhelper
import jsii
import layer_share_handler
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

# The packages the function imports, found where this interpreter imports them from: a checkout,
# an editable install or an installed wheel.
BUNDLED_PACKAGES: tuple[ModuleType, ...] = (layer_share_handler, crhelper)


def package_sources(package: ModuleType) -> list[Path]:
    """The package's `.py` files, relative to the directory that contains the package."""
    package_dir = Path(package.__file__).parent
    return sorted(path.relative_to(package_dir.parent) for path in package_dir.rglob("*.py"))


@jsii.implements(ILocalBundling)
class _CopySources:
    def try_bundle(self, output_dir: str, _options: Any) -> bool:
        for package in BUNDLED_PACKAGES:
            root = Path(package.__file__).parent.parent
            for relative in package_sources(package):
                target = Path(output_dir, relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                # Contents only: CDK's fingerprint ignores timestamps and modes, and so does the hash.
                shutil.copyfile(root / relative, target)
        return True


def handler_code() -> lambda_.Code:
    """The function's code. Its hash is that of the staged files (OUTPUT), so every machine agrees on it."""
    return lambda_.Code.from_asset(
        str(Path(layer_share_handler.__file__).parent),
        asset_hash_type=AssetHashType.OUTPUT,
        # BundlingOptions requires an image; it is never pulled, because local bundling always succeeds.
        bundling=BundlingOptions(image=DockerImage.from_registry("local-bundling-only"), local=_CopySources()),
    )
