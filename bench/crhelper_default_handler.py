"""The comparison baseline: a layer-permission handler written the way crhelper's README shows, with its defaults.

A module-level CfnResource() with default settings (DEBUG logging, sleep_on_delete=120), a module-level
boto3 client, one decorated function per request type, and Delete tolerating an already-removed statement.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from crhelper import CfnResource

logger = logging.getLogger(__name__)
helper = CfnResource()
lambda_api = boto3.client("lambda")


def _physical_id(properties: dict[str, Any]) -> str:
    return f"{properties['LayerName']}:{properties['VersionNumber']}#{properties['StatementId']}"


def _add(properties: dict[str, Any]) -> None:
    organization = {"OrganizationId": properties["OrganizationId"]} if "OrganizationId" in properties else {}
    lambda_api.add_layer_version_permission(
        LayerName=properties["LayerName"],
        VersionNumber=int(properties["VersionNumber"]),
        StatementId=properties["StatementId"],
        Action="lambda:GetLayerVersion",
        Principal=properties["Principal"],
        **organization,
    )


def _remove(physical_id: str) -> None:
    layer_version, statement_id = physical_id.split("#")
    layer_name, version = layer_version.rsplit(":", 1)
    try:
        lambda_api.remove_layer_version_permission(
            LayerName=layer_name, VersionNumber=int(version), StatementId=statement_id
        )
    except lambda_api.exceptions.ResourceNotFoundException:
        logger.info("Statement %s is already gone", statement_id)


@helper.create
def create(event: dict[str, Any], context: Any) -> str:
    _add(event["ResourceProperties"])
    return _physical_id(event["ResourceProperties"])


@helper.update
def update(event: dict[str, Any], context: Any) -> str:
    new_id = _physical_id(event["ResourceProperties"])
    # The same statement changes in place; a new one is added, and CloudFormation deletes the old one afterwards.
    if new_id == event["PhysicalResourceId"]:
        _remove(new_id)
    _add(event["ResourceProperties"])
    return new_id


@helper.delete
def delete(event: dict[str, Any], context: Any) -> None:
    _remove(event["PhysicalResourceId"])


def handler(event: dict[str, Any], context: Any) -> None:
    helper(event, context)
