"""Arranging and inspecting the Lambda stand-in in tests: the test account, layers, policies as Lambda returns them."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:layer-share-handler"


def publish_layer(lambda_api: Any, name: str) -> str:
    """Publish one version of a tiny layer and return its version ARN."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer_zip:
        layer_zip.writestr("python/demo.py", "VALUE = 1\n")
    return lambda_api.publish_layer_version(LayerName=name, Content={"ZipFile": archive.getvalue()})["LayerVersionArn"]


def policy_statements(lambda_api: Any, layer_version_arn: str) -> dict[str, dict]:
    """The layer version's statements by Sid, as Lambda returns them; empty when there is no policy."""
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    try:
        policy = lambda_api.get_layer_version_policy(LayerName=layer_arn, VersionNumber=int(version))
    except lambda_api.exceptions.ResourceNotFoundException:
        return {}
    return {statement["Sid"]: statement for statement in json.loads(policy["Policy"])["Statement"]}


def account_statement(layer_version_arn: str, statement_id: str, account: str) -> dict[str, Any]:
    """The statement Lambda stores for a grant to one account, written out as the API reference shows it."""
    return {
        "Sid": statement_id,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": layer_version_arn,
    }
