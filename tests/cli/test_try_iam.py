"""`layer-share try` answers as IAM would: a grant on a layer that the handler role's policies in the template do
not allow is FAILED (an escape hatch that overrode the construct's policy, say)."""

from __future__ import annotations

import pytest

from layer_share_cli.emulator.cloudformation import DeployFailed
from layer_share_cli.try_command import run_try
from tests.cli.assemblies import FUNCTION, GRANT, LAYER, add_handler_asset, write_assembly

pytestmark = pytest.mark.slow  # starts an embedded Lambda


def template_allowing(resource: str) -> dict:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "handler",
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {
                "Statement": [{"Effect": "Allow", "Action": "lambda:AddLayerVersionPermission", "Resource": resource}]
            },
        },
    }
    function = {**FUNCTION, "Properties": {**FUNCTION["Properties"], "Role": {"Fn::GetAtt": ["Role", "Arn"]}}}
    return {"Resources": {"Role": role, "Policy": policy, "Handler": function, "Share": GRANT}}


def test_a_grant_on_a_layer_the_role_may_not_share_is_failed(tmp_path):
    assembly = add_handler_asset(write_assembly(tmp_path / "cdk.out", template_allowing(f"{LAYER}-other:*")))

    with pytest.raises(DeployFailed, match=r"Create Shares/Share FAILED: AccessDeniedException: .*:layer:tools:1 "):
        run_try(assembly, [], [], {}, lambda _: None)


def test_a_grant_the_role_allows_is_played(tmp_path):
    assembly = add_handler_asset(write_assembly(tmp_path / "cdk.out", template_allowing(f"{LAYER}:*")))

    result = run_try(assembly, [], [], {}, lambda _: None)

    assert {grant.layer_version.arn for grant in result.after} == {f"{LAYER}:1"}
