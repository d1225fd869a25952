"""The README's recipe for the one cdk-nag finding a user may have to acknowledge works as written."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from layer_share import LayerVersionPermission

from .conftest import cdk_json_context

TOOLS_LAYER = "arn:aws:lambda:eu-west-1:111122223333:layer:tools:7"
# As the README writes it.
README_ACKNOWLEDGMENT = cdk.Acknowledgment(
    id="AwsSolutions-IAM5[Resource::arn:aws:lambda:eu-west-1:111122223333:layer:tools:*]",
    reason="Revoking a replaced grant acts on a version of this layer that the template no longer names.",
)


def synth_revoking_on_replace(outdir: Path, *, acknowledge: bool) -> None:
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stack = cdk.Stack(app, "Layers", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    LayerVersionPermission(
        stack, "Share", layer_version_arn=TOOLS_LAYER, principal="223456789012", retain_on_replace=False
    )
    if acknowledge:
        cdk.Validations.of(stack).acknowledge(README_ACKNOWLEDGMENT)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


def test_the_readme_acknowledgment_clears_the_all_versions_finding(tmp_path: Path) -> None:
    synth_revoking_on_replace(tmp_path, acknowledge=True)


def test_without_it_cdk_nag_fails_the_synth(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed.*AwsSolutions-IAM5\[Resource::.*:layer:tools:\*\]"):
        synth_revoking_on_replace(tmp_path, acknowledge=False)
