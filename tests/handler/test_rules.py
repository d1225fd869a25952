"""The property contract shared by the construct (synth) and the handler (deploy)."""

from __future__ import annotations

import pytest

from layer_share_handler.exceptions import InvalidProperties
from layer_share_handler.rules import GrantProperties, Retention, event_problem, parse_properties

VALID = {"LayerName": "tools", "VersionNumber": "3", "StatementId": "share", "Principal": "223456789012"}


def test_valid_properties_become_a_request_with_defaults():
    assert parse_properties({**VALID, "ServiceToken": "arn:aws:lambda:x", "ServiceTimeout": "300"}) == GrantProperties(
        layer_name="tools", version_number=3, statement_id="share", principal="223456789012"
    )


@pytest.mark.parametrize("version", ["3", 3, "9223372036854775807"])
def test_version_number_accepts_positive_whole_numbers(version):
    assert parse_properties({**VALID, "VersionNumber": version}).version_number == int(version)


@pytest.mark.parametrize("version", ["0", "-1", "1.5", "x", "", " 3", "03", True, None, "9223372036854775808"])
def test_version_number_rejects_everything_else_quoting_it(version):
    with pytest.raises(InvalidProperties, match="VersionNumber must be a positive whole number") as failure:
        parse_properties({**VALID, "VersionNumber": version})
    assert repr(version) in str(failure.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LayerName", "arn:aws:lambda:eu-west-1:111122223333:layer:tools"),
        ("Principal", "*"),
        ("Principal", "arn:aws:iam::223456789012:root"),
        ("Principal", "arn:aws-us-gov:iam::223456789012:root"),
        ("StatementId", "a" * 100),
    ],
)
def test_documented_forms_are_accepted(name, value):
    assert parse_properties({**VALID, name: value})


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("LayerName", "arn:aws:lambda:eu-west-1:111122223333:layer:tools:7", "does not match the pattern"),
        ("LayerName", "x" * 141, "1 to 140 characters"),
        ("StatementId", "a" * 101, "1 to 100 characters"),
        ("StatementId", "share me", "does not match the pattern [a-zA-Z0-9-_]+"),
        ("Principal", "22345678901", "does not match the pattern"),
        ("Principal", "arn:aws:iam::223456789012:user/alice", "does not match the pattern"),
        ("Action", "lambda:*", "the only valid value is lambda:GetLayerVersion"),
        ("OrganizationId", "o-short", "12 to 34 characters"),
        ("StatementId", 7, "must be a string"),
    ],
)
def test_invalid_values_are_quoted_with_their_rule(name, value, rule):
    properties = {**VALID, name: value, **({"Principal": "*"} if name == "OrganizationId" else {})}
    with pytest.raises(InvalidProperties) as failure:
        parse_properties(properties)
    assert rule in str(failure.value)
    assert repr(value)[:60] in str(failure.value)


def test_organization_needs_the_star_principal():
    with pytest.raises(InvalidProperties, match="requires Principal '\\*'"):
        parse_properties({**VALID, "OrganizationId": "o-a1b2c3d4e5"})


def test_an_unknown_property_names_the_allowed_ones():
    properties = dict(VALID)
    properties["Principle"] = properties.pop("Principal")
    with pytest.raises(InvalidProperties) as failure:
        parse_properties(properties)
    message = str(failure.value)
    assert "unknown properties 'Principle'" in message
    assert "allowed: LayerName, VersionNumber, StatementId, Principal, Action, OrganizationId, RevisionId" in message
    assert "missing required property Principal" in message


def test_a_huge_value_is_quoted_briefly():
    with pytest.raises(InvalidProperties) as failure:
        parse_properties({**VALID, "StatementId": "x" * 100_000})
    assert len(str(failure.value)) < 400


@pytest.mark.parametrize("properties", [None, "text", ["LayerName"]])
def test_properties_that_are_not_an_object_are_rejected(properties):
    with pytest.raises(InvalidProperties, match="must be an object"):
        parse_properties(properties)


def test_event_shape_problems_are_described():
    assert "RequestType must be one of Create, Update, Delete" in event_problem({"RequestType": "Upsert"})
    assert "PhysicalResourceId" in event_problem(
        {
            "RequestType": "Delete",
            "ResponseURL": "https://x",
            "StackId": "s",
            "RequestId": "r",
            "LogicalResourceId": "l",
        }
    )


def test_retention_properties_become_the_requests_retention():
    request = parse_properties({**VALID, "KeepVersions": "3", "RevokeRetainedOnDelete": "true"})
    assert request.retention == Retention(keep_versions=3, revoke_retained_on_delete=True)
    assert parse_properties(VALID).retention == Retention(keep_versions=None, revoke_retained_on_delete=False)


@pytest.mark.parametrize("value", ["0", "-1", "three", "1001", "", True])
def test_keep_versions_must_be_a_count_of_versions(value):
    with pytest.raises(InvalidProperties, match=r"KeepVersions must be how many of the layer's newest versions"):
        parse_properties({**VALID, "KeepVersions": value})


def test_revoke_retained_on_delete_must_be_true_or_false():
    with pytest.raises(InvalidProperties, match=r"RevokeRetainedOnDelete must be \"true\" or \"false\", got 'yes'"):
        parse_properties({**VALID, "RevokeRetainedOnDelete": "yes"})
