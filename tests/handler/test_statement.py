"""Lambda's statement shape, checked against the API reference's example response, never against a fake."""

from __future__ import annotations

import json

import pytest

from layer_share_handler.physical_id import LayerVersion
from layer_share_handler.rules import GrantProperties
from layer_share_handler.statement import GrantStatement

# The Statement of the example response in ../shared/reference/boto3-add_layer_version_permission.rst.
REFERENCE_STATEMENT = (
    '{"Sid":"xaccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::223456789012:root"},'
    '"Action":"lambda:GetLayerVersion","Resource":"arn:aws:lambda:us-east-2:123456789012:layer:my-layer:1"}'
)
MY_LAYER_1 = LayerVersion("aws", "us-east-2", "123456789012", "my-layer", 1)


def request(principal: str, organization_id: str | None = None) -> GrantProperties:
    return GrantProperties("my-layer", 1, "xaccount", principal, organization_id=organization_id)


def test_an_account_grant_is_written_as_lambda_documents_it() -> None:
    granted = GrantStatement.requested(request("223456789012"))
    assert granted.policy_statement(MY_LAYER_1) == json.loads(REFERENCE_STATEMENT)


def test_the_reference_statement_reads_back_as_the_account_it_grants() -> None:
    assert GrantStatement.from_policy(json.loads(REFERENCE_STATEMENT)) == GrantStatement.requested(
        request("223456789012")
    )


def test_an_account_root_arn_and_its_account_id_are_the_same_grant() -> None:
    assert GrantStatement.requested(request("arn:aws:iam::223456789012:root")) == GrantStatement.requested(
        request("223456789012")
    )


def test_an_account_principal_carries_the_layer_partition() -> None:
    china_layer = LayerVersion("aws-cn", "cn-north-1", "123456789012", "my-layer", 1)
    statement = GrantStatement.requested(request("223456789012")).policy_statement(china_layer)
    assert statement["Principal"] == {"AWS": "arn:aws-cn:iam::223456789012:root"}


def test_an_organization_grant_is_a_star_principal_with_an_org_id_condition() -> None:
    statement = GrantStatement.requested(request("*", "o-a1b2c3d4e5")).policy_statement(MY_LAYER_1)
    assert statement["Principal"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}


def test_a_deny_statement_is_not_a_grant() -> None:
    assert GrantStatement.from_policy({**json.loads(REFERENCE_STATEMENT), "Effect": "Deny"}) is None


@pytest.mark.parametrize(
    "condition", [[{"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}], {"StringEquals": "x"}]
)
def test_a_condition_of_another_shape_is_not_read_as_a_grant(condition: object) -> None:
    statement = {"Sid": "s", "Effect": "Allow", "Principal": "*", "Action": "lambda:GetLayerVersion"}

    assert GrantStatement.from_policy({**statement, "Condition": condition}) is None
