"""Synthesized apps, shared: the example app as `cdk synth` builds it, and a helper for small test stacks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Set before aws_cdk starts its jsii runtime.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

import app as example_app

REPO = Path(__file__).resolve().parents[2]
CDK_JSON = REPO / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The feature flags the CLI would pass to the app."""
    return json.loads(CDK_JSON.read_text())["context"]


@dataclass(frozen=True)
class SynthesizedApp:
    """One synthesized example app: the app, its cloud assembly directory and its stack's template."""

    app: cdk.App
    outdir: Path
    stack_name: str

    @property
    def template_file(self) -> Path:
        return self.outdir / f"{self.stack_name}.template.json"

    @property
    def template(self) -> dict[str, Any]:
        return json.loads(self.template_file.read_text())

    def function_asset_hash(self) -> str:
        """The asset hash of the handler function's code, from the template's S3 key."""
        (function,) = resources_of(self.template, "AWS::Lambda::Function").values()
        return function["Properties"]["Code"]["S3Key"].removesuffix(".zip")


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == resource_type}


def synth_example_app(outdir: Path, **context: str) -> SynthesizedApp:
    """Synthesize app.py's stack, with cdk-nag, as `cdk synth` would; cdk-nag findings raise."""
    app = cdk.App(outdir=str(outdir), context={**cdk_json_context(), **context})
    stack = example_app.build_app(app)
    app.synth()
    return SynthesizedApp(app, outdir, stack.stack_name)


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    return synth_example_app(tmp_path_factory.mktemp("example-cdk-out"))


@pytest.fixture(scope="session")
def synth_stack(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Callable[[cdk.Stack], Any]], Template]:
    """Declare constructs in a fresh stack (with cdk.json's feature flags) and return its template."""

    def synth(declare: Callable[[cdk.Stack], Any]) -> Template:
        app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk-out")), context=cdk_json_context())
        stack = cdk.Stack(app, "Grants")
        declare(stack)
        return Template.from_stack(stack)

    return synth


# The handler's own stack, as its role names it: the stack's ID ends in a suffix made at deploy.
OWN_STACK_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":cloudformation:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":stack/",
            {"Ref": "AWS::StackName"},
            "/*",
        ],
    ]
}
