"""Arrange and inspect layer versions on the stand-in with a plain client, apart from the handlers' own."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

import boto3

from tools.standins import REGION


def plain_client() -> Any:
    """A client whose requests are not counted: the benchmarks' own arrangements and checks."""
    return boto3.client("lambda", region_name=REGION)


def publish_layer(api: Any) -> str:
    """Publish one version of a tiny, uniquely named layer and return its version ARN."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer_zip:
        layer_zip.writestr("python/shared.py", "VALUE = 1\n")
    name = f"bench-{uuid.uuid4().hex[:12]}"
    return api.publish_layer_version(LayerName=name, Content={"ZipFile": archive.getvalue()})["LayerVersionArn"]


def policy_statements(api: Any, layer_version_arn: str) -> dict[str, dict]:
    """The layer version's statements by Sid; empty when it has no policy."""
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    try:
        policy = api.get_layer_version_policy(LayerName=layer_arn, VersionNumber=int(version))
    except api.exceptions.ResourceNotFoundException:
        return {}
    return {statement["Sid"]: statement for statement in json.loads(policy["Policy"])["Statement"]}


def account_statement(layer_version_arn: str, statement_id: str, account: str) -> dict[str, Any]:
    """The statement Lambda stores for a grant to one account."""
    return {
        "Sid": statement_id,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": layer_version_arn,
    }


def grant_properties(layer_version_arn: str, statement_id: str, account: str) -> dict[str, str]:
    """ResourceProperties as CloudFormation sends them: every value a string."""
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    return {"LayerName": layer_arn, "VersionNumber": version, "StatementId": statement_id, "Principal": account}
