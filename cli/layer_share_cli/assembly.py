"""Read a cloud assembly (`cdk.out`): its stacks, those of Stage sub-assemblies included, and their templates."""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What `cdk synth` writes for a stack whose environment is left to deploy time.
_UNKNOWN = ("unknown-account", "unknown-region")
# CloudFormation takes templates of up to 1 MB from S3; a manifest or asset manifest is smaller still. Anything
# larger is not an assembly file, and reading it whole would only exhaust memory.
MAX_FILE_BYTES = 16 * 1024 * 1024
# Stages in Stages; deeper is a loop or not an assembly.
MAX_NESTING = 16


class AssemblyError(Exception):
    """The assembly cannot be read, or holds no stack by the name asked for."""


@dataclass(frozen=True)
class StackArtifact:
    """One stack of the assembly. Its template and the paths in its metadata are relative to `directory`."""

    artifact_id: str
    display_name: str  # the construct path, `Prod/Layers` for a stack in the Stage `Prod`
    stack_name: str  # the CloudFormation stack name
    account: str | None  # None for an environment-agnostic stack
    region: str | None
    directory: Path
    template_file: str
    dependencies: tuple[str, ...] = ()  # artifact IDs this stack's deploy waits for
    asset_manifests: tuple[str, ...] = ()  # its asset manifests' files, relative to `directory`

    def template(self) -> dict[str, Any]:
        template = read_json(self.directory / self.template_file)
        field_of(template, "Resources", dict, self.directory / self.template_file, default={})
        return template


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a regular file of at most MAX_FILE_BYTES: never a FIFO or a device, which would hang or
    never end."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise AssemblyError(f"{path} is not a regular file; expected a JSON file that cdk synth wrote")
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise AssemblyError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB; expected a cdk synth JSON file")
        content = json.loads(raw)
    except (OSError, ValueError, RecursionError) as error:
        reason = "nested too deep" if isinstance(error, RecursionError) else str(error).splitlines()[0]
        raise AssemblyError(f"cannot read {path}: {reason}") from None
    if not isinstance(content, dict):
        raise AssemblyError(f"{path} holds a JSON {type(content).__name__}; expected a JSON object")
    return content


_KIND_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def field_of(document: dict[str, Any], name: str, kind: type, path: Path | str, default: Any = None) -> Any:
    """`document[name]`, checked to be a `kind`; `default` when it is missing and a default is given."""
    if name not in document and default is not None:
        return default
    value = document.get(name)
    if not isinstance(value, kind):
        found = "nothing" if name not in document else f"a JSON {type(value).__name__}"
        expected = _KIND_NAMES.get(kind, kind.__name__)
        raise AssemblyError(f"{path}: the field {name} is {found}; expected {expected}")
    return value


def stacks_in(assembly_dir: Path, depth: int = 0) -> list[StackArtifact]:
    """Every stack in the assembly, depth first through the Stage sub-assemblies, in manifest order."""
    manifest_path = assembly_dir / "manifest.json"
    if depth > MAX_NESTING:
        raise AssemblyError(f"{manifest_path}: Stages nested more than {MAX_NESTING} deep; expected a cloud assembly")
    if not manifest_path.exists():
        raise AssemblyError(
            f"{assembly_dir} is not a cloud assembly (no manifest.json); pass the directory cdk synth wrote"
        )
    manifest = read_json(manifest_path)
    stacks = []
    artifacts = field_of(manifest, "artifacts", dict, manifest_path, default={})
    for artifact_id, artifact in artifacts.items():
        where = f"{manifest_path} artifacts.{artifact_id}"
        if not isinstance(artifact, dict):
            raise AssemblyError(f"{where} is a JSON {type(artifact).__name__}; expected an object")
        kind = artifact.get("type")
        if kind not in ("cdk:cloud-assembly", "aws:cloudformation:stack"):
            continue
        properties = field_of(artifact, "properties", dict, where)
        if kind == "cdk:cloud-assembly":
            stacks += stacks_in(assembly_dir / field_of(properties, "directoryName", str, where), depth + 1)
            continue
        account, region = _environment(str(artifact.get("environment", "")))
        assets = [
            str(artifacts[name].get("properties", {}).get("file", ""))
            for name in artifact.get("dependencies", [])
            if isinstance(artifacts.get(name), dict) and artifacts[name].get("type") == "cdk:asset-manifest"
        ]
        stacks.append(
            StackArtifact(
                artifact_id=artifact_id,
                display_name=str(artifact.get("displayName", artifact_id)),
                stack_name=str(properties.get("stackName", artifact_id)),
                account=account,
                region=region,
                directory=assembly_dir,
                template_file=field_of(properties, "templateFile", str, where),
                dependencies=tuple(str(name) for name in artifact.get("dependencies", []) if name in artifacts),
                asset_manifests=tuple(asset for asset in assets if asset),
            )
        )
    return stacks


def in_dependency_order(stacks: list[StackArtifact]) -> list[StackArtifact]:
    """The stacks so that each comes after the stacks it depends on, otherwise in manifest order."""
    by_id = {stack.artifact_id: stack for stack in stacks}
    ordered: list[StackArtifact] = []
    visiting: set[str] = set()

    def visit(stack: StackArtifact) -> None:
        if stack in ordered:
            return
        if stack.artifact_id in visiting:
            raise AssemblyError(f"the stack {stack.display_name} depends on itself through its dependencies")
        visiting.add(stack.artifact_id)
        for name in stack.dependencies:
            if name in by_id:
                visit(by_id[name])
        ordered.append(stack)

    for stack in stacks:
        visit(stack)
    return ordered


def select_stacks(stacks: list[StackArtifact], names: list[str], missing_ok: bool = False) -> list[StackArtifact]:
    """The stacks named by display name (`Prod/Layers`), artifact ID or stack name; all of them without names."""
    if not names:
        return stacks
    unknown = [name for name in names if not any(name in _names_of(stack) for stack in stacks)]
    if unknown and not missing_ok:
        known = ", ".join(stack.display_name for stack in stacks) or "none"
        raise AssemblyError(f"no stack named {', '.join(unknown)} in the assembly; its stacks: {known}")
    return [stack for stack in stacks if any(name in _names_of(stack) for name in names)]


def _names_of(stack: StackArtifact) -> tuple[str, str, str]:
    return (stack.display_name, stack.artifact_id, stack.stack_name)


def _environment(environment: str) -> tuple[str | None, str | None]:
    account, _, region = environment.removeprefix("aws://").partition("/")
    return (None if account in _UNKNOWN else account or None, None if region in _UNKNOWN else region or None)
