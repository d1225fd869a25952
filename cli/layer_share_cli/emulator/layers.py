"""The app's own layer versions in the embedded Lambda, kept across the synths of a history as CloudFormation keeps
them: an `AWS::Lambda::LayerVersion` whose properties are unchanged (its asset's S3 key included) keeps its version;
a changed one publishes the next version, and the replaced version is deleted after the change unless its
UpdateReplacePolicy is Retain (a removed one, unless its DeletionPolicy is Retain).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

from layer_share_handler.physical_id import LayerVersion, parse_layer_version_arn

from ..assembly import AssemblyError
from ..grants import AppGrants, LayerResource
from .standin import LambdaStandIn

# Lambda takes a zip of up to 50 MB in the request; a larger asset is published as a stand-in file naming it, as
# the embedded Lambda never reads a layer's content.
MAX_CONTENT_BYTES = 50 * 2**20


@dataclass
class StackLayers:
    """The layer versions the app's stacks have published in `standin`, by (stack path, logical ID)."""

    standin: LambdaStandIn
    deployed: dict[tuple[str, str], tuple[LayerResource, str]] = field(default_factory=dict)
    _next: dict[tuple[str, str], tuple[LayerResource, str]] = field(default_factory=dict)

    def publish(self, layer: LayerResource) -> str:
        """The version ARN of the stack's layer in the synth being played: the deployed one, or a new version."""
        old = self.deployed.get(layer.key)
        if old is not None and old[0].properties == layer.properties:
            arn = old[1]
        else:
            scope = layer.scope
            arn = self.standin.publish_layer(scope.account, scope.region, layer.layer_name, content_of(layer))
        self._next[layer.key] = (layer, arn)
        return arn

    def finish(self, read: AppGrants, destroy: bool) -> list[str]:
        """After the change's cleanup: delete the versions it replaced or removed, unless their policy retains them
        (or their stack is not in this synth, without --destroy). Returns what it did, one line each."""
        done = []
        for key, (layer, arn) in self.deployed.items():
            new = self._next.get(key)
            if new is not None and new[1] == arn:
                continue
            if new is None and not read.has_stack_of(layer.scope) and not destroy:
                self._next[key] = (layer, arn)  # cdk deploy leaves a stack it does not synthesize alone
                continue
            retained = layer.update_replace_retain if new is not None else layer.retain_on_delete
            why = "replaced" if new is not None else "removed"
            if retained:
                done.append(f"  Retain  {layer.scope.path}/{layer.logical_id} ({arn}, {why}; its policy is Retain)")
            else:
                self.standin.delete_layer_version(_layer_version(arn))
                done.append(f"  Delete  {layer.scope.path}/{layer.logical_id} ({arn}, {why})")
        self.deployed, self._next = self._next, {}
        return done


def content_of(layer: LayerResource) -> bytes:
    """The layer's content as a zip: its asset directory zipped, or its zip file as it is."""
    where = f"{layer.scope.path}/{layer.logical_id}"
    asset = layer.asset
    if asset is None:
        return _zip({"layer-share-try.txt": f"{where}: no asset in the assembly\n".encode()})
    try:
        if asset.is_file():
            if asset.stat().st_size > MAX_CONTENT_BYTES:
                return _zip({"layer-share-try.txt": f"{asset.name} (larger than 50 MB)\n".encode()})
            with asset.open("rb") as file:
                return file.read(MAX_CONTENT_BYTES)
        files = sorted(path for path in asset.rglob("*") if path.is_file() and not path.is_symlink())
        if sum(path.stat().st_size for path in files) > MAX_CONTENT_BYTES:
            return _zip({"layer-share-try.txt": f"{asset.name} (larger than 50 MB)\n".encode()})
        return _zip({str(path.relative_to(asset)): path.read_bytes() for path in files})
    except OSError as error:
        raise AssemblyError(f"cannot read the asset {asset} of the layer {where}: {error}") from None


def _zip(files: dict[str, bytes]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer_zip:
        for name, data in files.items():
            layer_zip.writestr(name, data)
    return archive.getvalue()


def _layer_version(arn: str) -> LayerVersion:
    parsed = parse_layer_version_arn(arn)
    if parsed is None:
        raise ValueError(f"the embedded Lambda returned a layer version ARN of another shape: {json.dumps(arn)}")
    return parsed
