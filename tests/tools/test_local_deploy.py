"""The local deploy's verdicts: a FAILED response or a policy that differs from the template fails the run."""

from __future__ import annotations

import json
import urllib.request

import pytest

from layer_share_handler.entry import handler
from tools.local_deploy import Grant, LocalDeployFailed, LocalStack, check_policies, grants_in
from tools.standins import policy_statements

PARTNER = "223456789012"


def grant_for(layer_version_arn: str, principal: str = PARTNER) -> Grant:
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    properties = {"LayerName": layer_arn, "VersionNumber": version, "StatementId": "share", "Principal": principal}
    return Grant("SharePartner", properties, retain_on_replace=True, retain_on_delete=False)


def test_template_properties_are_sent_as_strings_without_the_service_token():
    template = {"Resources": {"Share": {
        "Type": "Custom::LayerVersionPermission", "UpdateReplacePolicy": "Retain", "DeletionPolicy": "Delete",
        "Properties": {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}, "LayerName": "demo", "VersionNumber": 3,
                       "StatementId": "share", "Principal": PARTNER, "ServiceTimeout": 300},
    }}}

    [grant] = grants_in(template)

    assert grant.properties == {"LayerName": "demo", "VersionNumber": "3", "StatementId": "share",
                                "Principal": PARTNER, "ServiceTimeout": "300"}
    assert grant.retain_on_replace and not grant.retain_on_delete


def test_a_property_that_is_not_concrete_is_refused_with_advice():
    template = {"Resources": {"Share": {"Type": "Custom::LayerVersionPermission", "Properties": {
        "LayerName": {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "Layer"}]}]}}}}}

    with pytest.raises(LocalDeployFailed, match="Share.LayerName is .* not a concrete value"):
        grants_in(template)


def test_a_failed_response_stops_the_local_deploy(lambda_standin, receiver, layer_v1):
    def failing_handler(event, context):
        body = {"Status": "FAILED", "Reason": "no", "PhysicalResourceId": "x", "RequestId": event["RequestId"]}
        request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT")
        urllib.request.urlopen(request).close()

    stack = LocalStack(failing_handler, receiver, [grant_for(layer_v1)])

    with pytest.raises(LocalDeployFailed, match="Create SharePartner FAILED: no"):
        stack.create_all()


def test_a_policy_that_differs_from_the_template_fails_the_check(lambda_standin, receiver, lambda_api, layer_v1):
    stack = LocalStack(handler, receiver, [grant_for(layer_v1)])
    stack.create_all()
    assert check_policies(stack, {layer_v1}, "Create")
    layer_arn, version = layer_v1.rsplit(":", 1)
    lambda_api.remove_layer_version_permission(LayerName=layer_arn, VersionNumber=int(version), StatementId="share")
    assert policy_statements(lambda_api, layer_v1) == {}

    with pytest.raises(LocalDeployFailed, match="differ from the template: missing"):
        check_policies(stack, {layer_v1}, "hand edit")
