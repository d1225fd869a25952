"""Arrange layer versions on the stand-in with a plain client, apart from the handlers' own."""

from __future__ import annotations

import uuid
from typing import Any

import boto3

from tests.standins import REGION, publish_layer


def plain_client() -> Any:
    """A client whose requests are not counted: the benchmarks' own arrangements and checks."""
    return boto3.client("lambda", region_name=REGION)


def new_layer_version(api: Any) -> str:
    """A layer version of its own for each measurement, so that no policy carries over."""
    return publish_layer(api, f"bench-{uuid.uuid4().hex[:12]}")


def grant_properties(layer_version_arn: str, statement_id: str, account: str) -> dict[str, str]:
    """ResourceProperties as CloudFormation sends them: every value a string."""
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    return {"LayerName": layer_arn, "VersionNumber": version, "StatementId": statement_id, "Principal": account}
