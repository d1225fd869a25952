"""The events the adversarial tests send, built once for every module that needs them."""

from __future__ import annotations

from typing import Any

from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import grant_properties

ADD = "AddLayerVersionPermission"


def create(layer_version_arn: str, url: str, **overrides: str) -> dict[str, Any]:
    return cfn_event("Create", "SharePartner", grant_properties(layer_version_arn, **overrides), url)


def rollback_delete(layer_version_arn: str, url: str, physical_id: str) -> dict[str, Any]:
    return cfn_event("Delete", "SharePartner", grant_properties(layer_version_arn), url, physical_id=physical_id)
