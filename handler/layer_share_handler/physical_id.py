"""The PhysicalResourceId format, `<LayerVersionArn>#<StatementId>#<RevisionId>`: built and parsed here only.

An empty RevisionId marks a grant whose outcome is unknown (the request may have landed), so a
later Delete checks the statement's content before removing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATOR = "#"
_LAYER_VERSION_ARN = re.compile(
    r"arn:(?P<partition>[a-zA-Z0-9-]+):lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{12})"
    r":layer:(?P<name>[a-zA-Z0-9-_]+):(?P<version>[1-9][0-9]*)",
    re.ASCII,  # an account of fullwidth or Arabic-Indic digits was never ours: \d alone would take it
)
_STATEMENT_ID = re.compile(r"[a-zA-Z0-9-_]{1,100}")
_REVISION_ID = re.compile(r"[a-zA-Z0-9-]*")


@dataclass(frozen=True)
class LayerVersion:
    """One layer version, addressed the way the Lambda API wants it."""

    partition: str
    region: str
    account: str
    name: str
    version: int

    @property
    def layer_arn(self) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:layer:{self.name}"

    @property
    def arn(self) -> str:
        return f"{self.layer_arn}:{self.version}"


@dataclass(frozen=True)
class PhysicalId:
    """What a PhysicalResourceId names: one statement on one layer version."""

    layer_version: LayerVersion
    statement_id: str
    revision_id: str

    @property
    def outcome_unknown(self) -> bool:
        return self.revision_id == ""


def parse_layer_version_arn(arn: str) -> LayerVersion | None:
    match = _LAYER_VERSION_ARN.fullmatch(arn)
    if match is None:
        return None
    return LayerVersion(
        partition=match["partition"],
        region=match["region"],
        account=match["account"],
        name=match["name"],
        version=int(match["version"]),
    )


def layer_version_for(layer_name: str, version_number: int, function_arn: str) -> LayerVersion:
    """Address a layer version from LayerName (name or ARN); a bare name lives in the function's account and region."""
    if layer_name.startswith("arn:"):
        _, partition, _, region, account, _, name = layer_name.split(":")
    else:
        _, partition, _, region, account, *_ = function_arn.split(":")
        name = layer_name
    return LayerVersion(partition, region, account, name, version_number)


def build_physical_id(layer_version: LayerVersion, statement_id: str, revision_id: str) -> str:
    return _SEPARATOR.join((layer_version.arn, statement_id, revision_id))


def build_not_granted_id(request_id: str) -> str:
    """The ID of a Create that granted nothing; it never parses as a grant, so its Delete is a no-op."""
    return f"not-granted-{request_id}"


def parse_physical_id(physical_id: object) -> PhysicalId | None:
    """Return the grant a PhysicalResourceId names, or None when the ID is not in our format."""
    if not isinstance(physical_id, str):
        return None
    parts = physical_id.split(_SEPARATOR)
    if len(parts) != 3:
        return None
    arn, statement_id, revision_id = parts
    layer_version = parse_layer_version_arn(arn)
    if layer_version is None or not _STATEMENT_ID.fullmatch(statement_id) or not _REVISION_ID.fullmatch(revision_id):
        return None
    return PhysicalId(layer_version, statement_id, revision_id)
