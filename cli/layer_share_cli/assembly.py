"""Read a cloud assembly (`cdk.out`): its stacks, those of Stage sub-assemblies included, and their templates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What `cdk synth` writes for a stack whose environment is left to deploy time.
_UNKNOWN = ("unknown-account", "unknown-region")


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

    def template(self) -> dict[str, Any]:
        return read_json(self.directory / self.template_file)


def read_json(path: Path) -> dict[str, Any]:
    try:
        content: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise AssemblyError(f"cannot read {path}: {error}") from error
    return content


def stacks_in(assembly_dir: Path) -> list[StackArtifact]:
    """Every stack in the assembly, depth first through the Stage sub-assemblies, in manifest order."""
    if not (assembly_dir / "manifest.json").is_file():
        raise AssemblyError(
            f"{assembly_dir} is not a cloud assembly (no manifest.json); pass the directory cdk synth wrote"
        )
    stacks = []
    for artifact_id, artifact in read_json(assembly_dir / "manifest.json").get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "cdk:cloud-assembly":
            stacks += stacks_in(assembly_dir / properties["directoryName"])
        elif artifact.get("type") == "aws:cloudformation:stack":
            account, region = _environment(artifact.get("environment", ""))
            stacks.append(
                StackArtifact(
                    artifact_id=artifact_id,
                    display_name=artifact.get("displayName", artifact_id),
                    stack_name=properties.get("stackName", artifact_id),
                    account=account,
                    region=region,
                    directory=assembly_dir,
                    template_file=properties["templateFile"],
                )
            )
    return stacks


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
