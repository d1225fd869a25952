"""The PhysicalResourceId format: one builder, one parser."""

from __future__ import annotations

import pytest

from layer_share_handler.physical_id import (
    build_not_granted_id,
    build_physical_id,
    layer_version_for,
    parse_layer_version_arn,
    parse_physical_id,
)

ARN = "arn:aws:lambda:eu-west-1:111122223333:layer:tools:7"
FUNCTION_ARN = "arn:aws-cn:lambda:cn-north-1:444455556666:function:handler"


def test_built_ids_parse_back_to_the_same_grant():
    layer_version = parse_layer_version_arn(ARN)
    grant_id = parse_physical_id(build_physical_id(layer_version, "share", "f00d-1"))

    assert (grant_id.layer_version, grant_id.statement_id, grant_id.revision_id) == (layer_version, "share", "f00d-1")
    assert grant_id.layer_version.layer_arn == "arn:aws:lambda:eu-west-1:111122223333:layer:tools"
    assert grant_id.layer_version.region == "eu-west-1"
    assert not grant_id.outcome_unknown


def test_an_empty_revision_marks_an_unknown_outcome():
    assert parse_physical_id(f"{ARN}#share#").outcome_unknown


@pytest.mark.parametrize(
    "physical_id",
    [
        "shared-layers_SharePartner_ABCD1234",  # crhelper's random ID after a failed Create
        build_not_granted_id("0f9a-request"),
        f"{ARN}#share",
        f"{ARN}#share#rev#extra",
        f"{ARN}#share me#rev",
        "arn:aws:lambda:eu-west-1:111122223333:layer:tools#share#rev",  # no version
        None,
        "",
    ],
)
def test_ids_not_in_our_format_parse_to_none(physical_id):
    assert parse_physical_id(physical_id) is None


def test_a_bare_layer_name_lives_in_the_functions_partition_account_and_region():
    assert layer_version_for("tools", 7, FUNCTION_ARN).arn == "arn:aws-cn:lambda:cn-north-1:444455556666:layer:tools:7"


def test_a_layer_arn_keeps_its_own_region():
    layer_version = layer_version_for("arn:aws:lambda:eu-west-1:111122223333:layer:tools", 7, FUNCTION_ARN)
    assert layer_version.arn == ARN
