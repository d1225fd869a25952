"""The property contract of Custom::LayerVersionPermission: one source of truth.

The construct checks concrete values with these rules at synth time, and the handler checks
every event with them at deploy time. Names, patterns and lengths follow the Lambda API
reference for AddLayerVersionPermission.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidProperties

GET_LAYER_VERSION = "lambda:GetLayerVersion"
ALL_ACCOUNTS = "*"
RESOURCE_TYPE = "Custom::LayerVersionPermission"
# An account's root principal, which Lambda stores for a grant to the account; group 1 is the account ID.
ACCOUNT_ROOT = r"arn:aws[a-zA-Z-]*:iam::(\d{12}):root"

# The resource's Metadata key that repeats its properties, so that a cleanup Delete of a replaced copy can read
# the live grant's from CloudFormation's record (DescribeStackResource resolves intrinsics in Metadata).
GRANT_METADATA = "LayerShareGrant"
# CloudFormation adds these to ResourceProperties itself.
CLOUDFORMATION_PROPERTIES = ("ServiceToken", "ServiceTimeout")

# Longest value quoted back in an error, so that a huge input cannot flood a response.
_QUOTE_LIMIT = 80
_MAX_VERSION_NUMBER = 2**63 - 1  # Lambda stores version numbers as a Long


@dataclass(frozen=True)
class Rule:
    """How one property is checked: a full-match pattern and a length range."""

    pattern: str
    min_length: int
    max_length: int
    meaning: str

    def problem(self, name: str, value: Any) -> str | None:
        """Describe what is wrong with `value`, or return None when it is valid."""
        if not isinstance(value, str):
            return f"{name} must be a string ({self.meaning}), got {quote(value)}"
        if not self.min_length <= len(value) <= self.max_length:
            return (
                f"{name} must be {self.min_length} to {self.max_length} characters long "
                f"({self.meaning}), got {len(value)} characters: {quote(value)}"
            )
        # ASCII, as Lambda reads its patterns: Python's \d alone also takes fullwidth and Arabic-Indic digits,
        # which Lambda refuses.
        if not re.fullmatch(self.pattern, value, re.ASCII):
            return f"{name} {quote(value)} does not match the pattern {self.pattern} ({self.meaning})"
        return None


RULES: dict[str, Rule] = {
    "LayerName": Rule(
        r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+",
        1,
        140,
        "a layer name, or a layer ARN without a version",
    ),
    "StatementId": Rule(r"[a-zA-Z0-9-_]+", 1, 100, "letters, digits, '-' and '_'"),
    "Principal": Rule(
        rf"\d{{12}}|\*|{ACCOUNT_ROOT}",
        1,
        64,
        "a 12-digit account ID, '*', or arn:aws:iam::<account>:root",
    ),
    "Action": Rule(re.escape(GET_LAYER_VERSION), 1, 22, f"the only valid value is {GET_LAYER_VERSION}"),
    "OrganizationId": Rule(r"o-[a-z0-9]{10,32}", 12, 34, "an AWS Organizations ID such as o-a1b2c3d4e5"),
    "RevisionId": Rule(r"[a-zA-Z0-9-]+", 1, 64, "a policy RevisionId returned by Lambda"),
}
VERSION_NUMBER_MEANING = 'a positive whole number such as "3"'
REQUIRED = ("LayerName", "VersionNumber", "StatementId", "Principal")
# Not AddLayerVersionPermission's: how long this resource keeps its grant on older versions of the layer.
RETENTION_PROPERTIES = ("KeepVersions", "RevokeRetainedOnDelete")
ALLOWED = (*REQUIRED, "Action", "OrganizationId", "RevisionId", *RETENTION_PROPERTIES)
MAX_KEEP_VERSIONS = 1000
KEEP_VERSIONS_MEANING = f"how many of the layer's newest versions keep the grant, 1 to {MAX_KEEP_VERSIONS}"
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Retention:
    """Which versions of the layer keep this resource's statement besides the current one.

    `keep_versions`: the newest versions that keep it, counting the current one; None keeps every version.
    `revoke_retained_on_delete`: whether deleting the resource also revokes its statement on the versions it kept.
    Without either, the resource manages the current version's statement only.
    """

    keep_versions: int | None = None
    revoke_retained_on_delete: bool = False

    @property
    def active(self) -> bool:
        return self.keep_versions is not None or self.revoke_retained_on_delete


@dataclass(frozen=True)
class GrantProperties:
    """A validated grant: who may use which layer version, under which StatementId."""

    layer_name: str
    version_number: int
    statement_id: str
    principal: str
    action: str = GET_LAYER_VERSION
    organization_id: str | None = None
    revision_id: str | None = None
    retention: Retention = Retention()


def quote(value: Any) -> str:
    """Quote a value for an error message, shortened so that messages stay small."""
    text = repr(value)
    if len(text) > _QUOTE_LIMIT:
        return f"{text[:_QUOTE_LIMIT]}... ({len(text)} characters)"
    return text


def version_number_problem(value: Any) -> str | None:
    """VersionNumber arrives as a string from CloudFormation ("3"); an int is fine too."""
    text = value if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    if text is None or not re.fullmatch(r"[1-9][0-9]{0,18}", text) or int(text) > _MAX_VERSION_NUMBER:
        return f"VersionNumber must be {VERSION_NUMBER_MEANING}, got {quote(value)}"
    return None


def keep_versions_problem(value: Any) -> str | None:
    """KeepVersions arrives as a string from CloudFormation ("3"); an int is fine too."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not re.fullmatch(r"[1-9][0-9]{0,3}", text) or int(text) > MAX_KEEP_VERSIONS:
        return f"KeepVersions must be {KEEP_VERSIONS_MEANING}, got {quote(value)}"
    return None


def boolean_problem(name: str, value: Any) -> str | None:
    """A boolean property: CloudFormation sends true and false as the strings "true" and "false"."""
    if isinstance(value, bool) or value in _BOOLEANS:
        return None
    return f'{name} must be "true" or "false", got {quote(value)}'


def property_problem(name: str, value: Any) -> str | None:
    """Check one property by its CloudFormation name."""
    if name == "VersionNumber":
        return version_number_problem(value)
    if name == "KeepVersions":
        return keep_versions_problem(value)
    if name == "RevokeRetainedOnDelete":
        return boolean_problem(name, value)
    return RULES[name].problem(name, value)


def organization_problem(principal: Any, organization_id: Any) -> str | None:
    """OrganizationId narrows a '*' grant; with any other principal Lambda would reject it."""
    if organization_id is not None and principal != ALL_ACCOUNTS:
        return (
            f"OrganizationId {quote(organization_id)} requires Principal '*', got Principal {quote(principal)}; "
            "to share with an organization set Principal to '*'"
        )
    return None


def parse_properties(properties: Any) -> GrantProperties:
    """Validate ResourceProperties and return the request, or raise InvalidProperties listing every problem."""
    if not isinstance(properties, Mapping):
        raise InvalidProperties(f"ResourceProperties must be an object, got {quote(properties)}")
    problems = []
    unknown = [name for name in properties if name not in ALLOWED and name not in CLOUDFORMATION_PROPERTIES]
    if unknown:
        problems.append(
            f"unknown properties {', '.join(quote(name) for name in unknown)}; allowed: {', '.join(ALLOWED)}"
        )
    problems += [f"missing required property {name}" for name in REQUIRED if name not in properties]
    problems += [
        problem
        for name in ALLOWED
        if name in properties and (problem := property_problem(name, properties[name])) is not None
    ]
    if (problem := organization_problem(properties.get("Principal"), properties.get("OrganizationId"))) is not None:
        problems.append(problem)
    if problems:
        raise InvalidProperties("; ".join(problems))
    return GrantProperties(
        layer_name=properties["LayerName"],
        version_number=int(properties["VersionNumber"]),
        statement_id=properties["StatementId"],
        principal=properties["Principal"],
        action=properties.get("Action", GET_LAYER_VERSION),
        organization_id=properties.get("OrganizationId"),
        revision_id=properties.get("RevisionId"),
        retention=Retention(
            keep_versions=int(properties["KeepVersions"]) if "KeepVersions" in properties else None,
            revoke_retained_on_delete=_as_boolean(properties.get("RevokeRetainedOnDelete", False)),
        ),
    )


def _as_boolean(value: bool | str) -> bool:
    return value if isinstance(value, bool) else _BOOLEANS[value]


REQUEST_TYPES = ("Create", "Update", "Delete")
_EVENT_STRINGS = ("ResponseURL", "StackId", "RequestId", "LogicalResourceId")


def event_problem(event: Mapping[str, Any]) -> str | None:
    """Check the shape of a CloudFormation custom resource event; None when it can be acted on."""
    request_type = event.get("RequestType")
    if request_type not in REQUEST_TYPES:
        return f"RequestType must be one of {', '.join(REQUEST_TYPES)}, got {quote(request_type)}"
    needed = [*_EVENT_STRINGS, *(("PhysicalResourceId",) if request_type != "Create" else ())]
    wrong = [name for name in needed if not isinstance(event.get(name), str) or not event.get(name)]
    if wrong:
        return f"the {request_type} event lacks the string fields {', '.join(wrong)}"
    if request_type != "Delete" and not isinstance(event.get("ResourceProperties"), Mapping):
        return f"the {request_type} event has no ResourceProperties object"
    return None
