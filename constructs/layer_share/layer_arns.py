"""Turn a layer version ARN, concrete or a token, into the template values a grant needs."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Fn

# arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>
_ARN_PARTS = 8
_NAME, _VERSION = 6, 7
# IAM reads these as wildcards or policy variables in a Resource; `${*}`, `${?}` and `${$}` are IAM's own policy
# variables for the literal characters ("Special characters" in the IAM user guide). `$` comes first, so that the
# `$` of the later escapes stays as written.
_IAM_SPECIAL_CHARACTERS = ("$", "*", "?")
_LAYER = "Layer"


@dataclass(frozen=True)
class LayerTarget:
    """One layer version, as the handler's properties and the handler's IAM policy name it. Values may be tokens."""

    layer_name: str  # LayerName: a bare name (resolved in the handler's own account and region) or a layer ARN
    version_number: str  # VersionNumber: CloudFormation sends numbers as strings anyway
    version_arn: str  # the layer version ARN, which IAM authorizes the handler's calls against


def target_for(version_arn: str, *, known: bool, defined_in_same_stack: bool) -> LayerTarget:
    """Split a concrete (`known`) ARN here; split a token at deploy time, with Fn::Split and Fn::Select.

    A layer version defined in the handler's own stack lives in the handler's account and region, so its
    bare name is enough, and shortest. Any other token may name another account or region, so the layer
    ARN is rebuilt from its parts.
    """
    if known:
        layer_arn, _, version = version_arn.rpartition(":")
        return LayerTarget(layer_arn, version, version_arn)
    parts = Fn.split(":", version_arn, _ARN_PARTS)
    return LayerTarget(
        layer_name=parts[_NAME] if defined_in_same_stack else Fn.join(":", parts[:_VERSION]),
        version_number=parts[_VERSION],
        version_arn=version_arn,
    )


def all_versions_arn(version_arn: str, *, known: bool) -> str:
    """The layer ARN with a wildcard version, which IAM matches against every version of the layer."""
    if known:
        return f"{version_arn.rpartition(':')[0]}:*"
    return Fn.sub(f"${{{_LAYER}}}:*", {_LAYER: _literal_layer_arn(version_arn)})


def layer_arn(version_arn: str, *, known: bool) -> str:
    """The layer's ARN, without a version: what IAM authorizes lambda:ListLayerVersions against."""
    if known:
        return version_arn.rpartition(":")[0]
    return Fn.sub(f"${{{_LAYER}}}", {_LAYER: _literal_layer_arn(version_arn)})


def _literal_layer_arn(version_arn: str) -> str:
    """A token's layer ARN, with every character IAM would read as a wildcard or a variable made literal.

    Lambda's rules refuse such a layer ARN, and so does the handler, but only once CloudFormation has created the
    handler's policy: a parameter given as `...:layer:*:1` would otherwise allow the handler on every layer of the
    account until the stack has rolled back. Escaped, it names a layer called `*`, which cannot exist. Wrapped in
    Fn::Sub by the callers: cdk-nag cannot read an Fn::Join of an Fn::Split, and would fail instead of reporting.
    """
    text = Fn.join(":", Fn.split(":", version_arn, _ARN_PARTS)[:_VERSION])
    for character in _IAM_SPECIAL_CHARACTERS:
        text = Fn.join(f"${{{character}}}", Fn.split(character, text))
    return text
