"""Security review of what gets deployed: the handler role's whole permission set, the public-grant guard,
cdk-nag, and the code asset with its pinned dependencies.

The construct tests check the template contract; these audit every policy that reaches the handler's role,
on the example app and on a stack with every kind of grant, and look inside the asset for anything that
should not ship.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

import app as example_app
from layer_share import LayerVersionPermission, LayerVersionSharing
from layer_share_handler import ENTRY_POINT
from tests.adversarial import figures
from tests.construct.conftest import (
    OWN_STACK_ARN,
    REPO,
    SynthesizedApp,
    cdk_json_context,
    resources_of,
    synth_example_app,
)

LAYER_ACTIONS = {
    "lambda:AddLayerVersionPermission",
    "lambda:GetLayerVersionPolicy",
    "lambda:ListLayerVersions",
    "lambda:RemoveLayerVersionPermission",
}
LOG_WRITES = {"logs:CreateLogStream", "logs:PutLogEvents"}
# A Delete asks CloudFormation's record of its own stack what kind of Delete it is; the stack's ID ends in a suffix
# made at deploy, hence the wildcard after the stack's name.
DESCRIBE_OWN_STACK = ("cloudformation:DescribeStackResource", json.dumps(OWN_STACK_ARN))
OWN_STACK_FINDING = (
    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>"
    ":stack/<AWS::StackName>/*]"
)
STACKS = {"example": "Example app", "every_kind_of_grant": "Stack with every kind of grant"}
PARTNER = "444455556666"
ORGANIZATION = "o-a1b2c3d4e5"


# --- the handler role's permissions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """One Allow statement that applies to the handler role, as the template writes it."""

    source: str
    actions: frozenset[str]
    resource: str  # JSON of the resource, so intrinsics compare as values


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def handler_role(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The handler function's role, found from the function, not from a naming convention."""
    (function,) = [
        body
        for body in resources_of(template, "AWS::Lambda::Function").values()
        if body["Properties"]["Handler"] == ENTRY_POINT
    ]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return role_id, template["Resources"][role_id]


def role_permissions(template: dict[str, Any]) -> list[Permission]:
    """Every statement of every policy that names the handler role: its inline policies and attached ones."""
    role_id, role = handler_role(template)
    assert set(role["Properties"]) <= {"AssumeRolePolicyDocument", "Description", "Policies"}, role["Properties"]
    documents = [
        (f"{role_id} inline {policy['PolicyName']}", policy["PolicyDocument"])
        for policy in role["Properties"].get("Policies", [])
    ]
    for resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for name, body in resources_of(template, resource_type).items():
            if {"Ref": role_id} in body["Properties"].get("Roles", []):
                documents.append((name, body["Properties"]["PolicyDocument"]))
    permissions = []
    for source, document in documents:
        for statement in document["Statement"]:
            # Anything but a plain Allow of listed actions on listed resources would need its own review.
            assert set(statement) <= {"Effect", "Action", "Resource", "Sid"}, statement
            assert statement["Effect"] == "Allow", statement
            permissions += [
                Permission(source, frozenset(as_list(statement["Action"])), canonical(resource))
                for resource in as_list(statement["Resource"])
            ]
    return permissions


def declared_layer_versions(template: dict[str, Any]) -> set[str]:
    """The layer version ARNs the stack's grants name, as the template writes them."""
    declared = set()
    for grant in resources_of(template, "Custom::LayerVersionPermission").values():
        properties = grant["Properties"]
        version = properties["VersionNumber"]
        if isinstance(version, str):
            declared.add(canonical(f"{properties['LayerName']}:{version}"))
        else:  # {"Fn::Select": [7, {"Fn::Split": [":", <the layer version ARN>]}]}
            declared.add(canonical(version["Fn::Select"][1]["Fn::Split"][1]))
    return declared


def known_at_synth(layer_version: str) -> bool:
    return isinstance(json.loads(layer_version), str)


def iam_literal(text: Any) -> dict[str, Any]:
    """A value made at deploy time, with IAM's `${$}`, `${*}` and `${?}` for the characters IAM would read as a
    variable or a wildcard ("Special characters" in the IAM user guide); `$` first, so the later escapes stay."""
    for character in "$*?":
        text = {"Fn::Join": [f"${{{character}}}", {"Fn::Split": [character, text]}]}
    return text


def layer_resource(layer_version: str, suffix: str) -> str:
    """The declared layer version's layer ARN followed by `suffix` (canonical JSON in, canonical out). For an ARN
    known only at deploy time: its first seven parts joined, made literal, then the suffix, through Fn::Sub."""
    value = json.loads(layer_version)
    if isinstance(value, str):
        return canonical(f"{value.rsplit(':', 1)[0]}{suffix}")
    layer = {"Fn::Join": [":", [{"Fn::Select": [index, {"Fn::Split": [":", value]}]} for index in range(7)]]}
    return canonical({"Fn::Sub": [f"${{Layer}}{suffix}", {"Layer": iam_literal(layer)}]})


def every_version_of(layer_version: str) -> str:
    """The wildcard over every version of a declared layer version's layer: `<layer ARN>:*`."""
    return layer_resource(layer_version, ":*")


def the_layer_of(layer_version: str) -> str:
    """The layer's own ARN, which lambda:ListLayerVersions is authorized on."""
    return layer_resource(layer_version, "")


def own_log_group_arn(template: dict[str, Any]) -> str:
    (function,) = [
        body
        for body in resources_of(template, "AWS::Lambda::Function").values()
        if body["Properties"]["Handler"] == ENTRY_POINT
    ]
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    return canonical({"Fn::GetAtt": [log_group_id, "Arn"]})


def beyond_the_boundary(template: dict[str, Any]) -> tuple[list[tuple[str, str]], int]:
    """(action, resource) pairs the handler role holds beyond the four layer actions on the declared layers (and
    every version of them), log writes to its own log group and DescribeStackResource on its own stack; and how
    many pairs it holds in all."""
    _, role = handler_role(template)
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    declared = {
        named(version) for version in declared_layer_versions(template) for named in (every_version_of, the_layer_of)
    }
    own_logs = own_log_group_arn(template)
    pairs = [
        (action, permission.resource)
        for permission in role_permissions(template)
        for action in sorted(permission.actions)
    ]
    beyond = [
        (action, resource)
        for action, resource in pairs
        if not (action in LAYER_ACTIONS and resource in declared)
        and not (action in LOG_WRITES and resource == own_logs)
        and (action, resource) != DESCRIBE_OWN_STACK
    ]
    # And nothing it needs is missing: every declared layer gets all four actions, the log group both writes, and
    # the stack's record can be read.
    assert set(pairs) >= {(action, resource) for action in LAYER_ACTIONS for resource in declared}
    assert set(pairs) >= {(action, own_logs) for action in LOG_WRITES}
    assert DESCRIBE_OWN_STACK in pairs
    return beyond, len(pairs)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    return synth_example_app(tmp_path_factory.mktemp("example"))


@dataclass(frozen=True)
class EveryKindOfGrant:
    app: cdk.App
    template: dict[str, Any]


@pytest.fixture(scope="module")
def every_kind_of_grant(tmp_path_factory: pytest.TempPathFactory) -> EveryKindOfGrant:
    """One stack with every way of naming a layer version and a principal that the constructs accept."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("every-kind")), context=cdk_json_context())
    stack = cdk.Stack(app, "EveryKindOfGrant")
    in_stack = lambda_.LayerVersion(
        stack,
        "InStack",
        code=lambda_.Code.from_asset(str(example_app.DEMO_LAYER_CODE)),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    LayerVersionSharing(
        stack, "Partners", layer_version=in_stack, accounts=[PARTNER, "555566667777"], organization_ids=[ORGANIZATION]
    )
    imported = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Imported", "arn:aws:lambda:eu-west-1:111122223333:layer:imported:4"
    )
    LayerVersionPermission(stack, "ImportedToRoot", layer_version=imported, principal=f"arn:aws:iam::{PARTNER}:root")
    LayerVersionPermission(
        stack, "Exported", layer_version_arn=cdk.Fn.import_value("SharedLayerVersionArn"), principal=PARTNER
    )
    LayerVersionPermission(
        stack,
        "FromParameters",
        principal=cdk.CfnParameter(stack, "Partner").value_as_string,
        layer_version_arn=cdk.CfnParameter(stack, "LayerArn").value_as_string,
    )
    LayerVersionPermission(
        stack,
        "Public",
        layer_version_arn="arn:aws:lambda:us-east-1:111122223333:layer:open:2",
        principal="*",
        allow_all_accounts=True,
    )
    app.synth()
    return EveryKindOfGrant(app, json.loads((Path(app.outdir) / "EveryKindOfGrant.template.json").read_text()))


@pytest.mark.parametrize("stack", ["example", "every_kind_of_grant"])
def test_the_handler_role_can_only_manage_the_declared_layers_write_its_own_logs_and_read_its_own_stack(request, stack):
    template = request.getfixturevalue(stack).template

    beyond, pairs = beyond_the_boundary(template)

    assert beyond == []
    figures.record(
        "security",
        f"{STACKS[stack]}: handler role (action, resource) pairs / beyond the 4 layer actions "
        "on the declared layers and their versions, writes to its own log group, and "
        "DescribeStackResource on its own stack",
        f"{pairs} / {len(beyond)}",
    )
    figures.record(
        "security", f"{STACKS[stack]}: layer versions declared by the grants", len(declared_layer_versions(template))
    )


@pytest.mark.parametrize("stack", ["example", "every_kind_of_grant"])
def test_nothing_but_cloudformation_can_invoke_the_handler(request, stack):
    template = request.getfixturevalue(stack).template

    invoke_permissions = resources_of(template, "AWS::Lambda::Permission")
    urls = resources_of(template, "AWS::Lambda::Url")

    assert invoke_permissions == {} and urls == {}
    figures.record(
        "security",
        f"{STACKS[stack]}: resource policies or URLs that let anyone invoke the handler",
        len(invoke_permissions) + len(urls),
    )


# --- the public-grant guard --------------------------------------------------------------------------------------


def public_grants(template: dict[str, Any]) -> list[str]:
    return [
        name
        for name, grant in resources_of(template, "Custom::LayerVersionPermission").items()
        if grant["Properties"]["Principal"] == "*" and "OrganizationId" not in grant["Properties"]
    ]


def test_the_example_shares_with_no_one_publicly(example):
    public = public_grants(example.template)

    assert public == []
    figures.record("security", "Example app: grants to '*' without an organization", len(public))


def test_a_public_grant_appears_only_where_allow_all_accounts_was_passed(every_kind_of_grant):
    assert public_grants(every_kind_of_grant.template) == [
        name
        for name in resources_of(every_kind_of_grant.template, "Custom::LayerVersionPermission")
        if name.startswith("Public")
    ]


# Spellings of "everyone" that a careless or hostile caller might try, each with and without allow_all_accounts.
PUBLIC_SPELLINGS = [
    {"principal": "*"},
    {"principal": "*", "organization_id": ""},
    {"principal": "\uff0a"},  # fullwidth asterisk
    {"principal": " *"},
    {"principal": "*\n"},
    {"principal": "**"},
    {"principal": "arn:aws:iam::*:root"},
    {"principal": "arn:aws:iam::*"},
    {"principal": "*", "organization_id": "o-*"},
    {"principal": "*", "organization_id": "*"},
    {"principal": "AWS:*"},
    {"principal": "everyone"},
]


def refused_at_synth(declare: Callable[[cdk.Stack], Any]) -> bool:
    """True when `cdk synth` of a stack holding what `declare` adds fails CDK's validation."""
    app = cdk.App()
    declare(cdk.Stack(app, "Guard"))
    try:
        app.synth()
    except RuntimeError as error:
        return "Validation failed" in str(error)
    return False


def test_the_public_grant_guard_refuses_every_spelling_of_everyone_without_allow_all_accounts():
    refused = 0
    for props in PUBLIC_SPELLINGS:
        assert refused_at_synth(
            lambda stack, props=props: LayerVersionPermission(
                stack, "Share", layer_version_arn="arn:aws:lambda:us-east-1:111122223333:layer:x:1", **props
            )
        ), props
        refused += 1
    for accounts in (["*"], [PARTNER, "*"], ["\uff0a"]):
        assert refused_at_synth(
            lambda stack, accounts=accounts: LayerVersionSharing(
                stack, "Share", layer_version_arn="arn:aws:lambda:us-east-1:111122223333:layer:x:1", accounts=accounts
            )
        ), accounts
        refused += 1
    figures.record(
        "security",
        "Public-grant guard: spellings of 'everyone' tried without allow_all_accounts / refused at synth",
        f"{len(PUBLIC_SPELLINGS) + 3} / {refused}",
    )


def test_allow_all_accounts_opens_only_a_true_star_and_nothing_that_merely_looks_like_one():
    lookalikes = [props for props in PUBLIC_SPELLINGS if props != {"principal": "*"}]
    for props in lookalikes:
        assert refused_at_synth(
            lambda stack, props=props: LayerVersionPermission(
                stack,
                "Share",
                allow_all_accounts=True,
                layer_version_arn="arn:aws:lambda:us-east-1:111122223333:layer:x:1",
                **props,
            )
        ), props
    figures.record(
        "security",
        "Public-grant guard: look-alikes of '*' tried with allow_all_accounts=True / refused",
        f"{len(lookalikes)} / {len(lookalikes)}",
    )


# --- cdk-nag -----------------------------------------------------------------------------------------------------


def nag_findings(scope: Any) -> list[str]:
    report = AwsSolutionsChecks().validate_scope(scope)
    return [f"{violation.rule_name}: {violation.description}" for violation in report.violations or []]


def acknowledged_rules(app: cdk.App) -> list[Any]:
    return [
        entry.data
        for construct in app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]


def iam5_finding(resource: str) -> str:
    """The IAM5 finding cdk-nag names for a resource (canonical JSON): an Fn::Sub by its argument, as compact JSON."""
    value = json.loads(resource)
    rendered = value if isinstance(value, str) else json.dumps(value["Fn::Sub"], separators=(",", ":"))
    return f"AwsSolutions::AwsSolutions-IAM5[Resource::{rendered}]"


def test_cdk_nag_finds_nothing_in_a_stack_with_every_kind_of_grant_and_acknowledges_only_what_has_a_reason(
    every_kind_of_grant,
):
    acknowledged = {
        rule: reason for entry in acknowledged_rules(every_kind_of_grant.app) for rule, reason in entry.items()
    }
    # validate_scope reports every violation; the synth's validation leaves out the acknowledged ones.
    findings = [
        finding
        for finding in nag_findings(every_kind_of_grant.app)
        if f"AwsSolutions::{finding.split(': ', 1)[0]}" not in acknowledged
    ]
    declared = declared_layer_versions(every_kind_of_grant.template)
    wildcards = {iam5_finding(every_version_of(version)) for version in declared}
    # A layer ARN known only at deploy time holds a '*' in its template text: the Fn::Split that makes it literal.
    literal_layers = {iam5_finding(the_layer_of(version)) for version in declared if not known_at_synth(version)}

    assert findings == []
    # Nothing else: one acknowledgment per declared layer's versions, one per layer made literal, and the stack's ID.
    assert set(acknowledged) == wildcards | literal_layers | {OWN_STACK_FINDING}
    assert all("versions the template no longer names" in acknowledged[rule] for rule in wildcards)
    assert all("IAM's literal '${*}'" in acknowledged[rule] for rule in literal_layers)
    assert "The stack's own ID" in acknowledged[OWN_STACK_FINDING]
    figures.record("security", "cdk-nag AwsSolutions findings on a stack with every kind of grant", len(findings))
    figures.record(
        "security",
        "cdk-nag rules acknowledged by the constructs (AwsSolutions-IAM5 with a reason: one per declared layer, "
        "one per layer ARN made literal at deploy, one for the stack's own ID)",
        f"{len(acknowledged)} ({len(wildcards)} + {len(literal_layers)} + 1)",
    )


def test_cdk_nag_as_run_here_does_report_a_finding():
    """The control: the same check on a stack with an over-privileged role is not empty."""
    app = cdk.App()
    stack = cdk.Stack(app, "Control")
    iam.Role(
        stack,
        "Offending",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess")],
    )

    assert any(finding.startswith("AwsSolutions-IAM4") for finding in nag_findings(app))


# --- the code asset and its dependencies -------------------------------------------------------------------------

SECRET_PATTERNS = {
    "AWS access key ID": r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
    "secret access key assignment": r"(?i)aws_secret_access_key\s*[=:]\s*\S+",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "presigned URL": r"X-Amz-Signature=",
}
# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PROVIDED = {"boto3", "botocore"}
BUNDLED = {"layer_share_handler", "crhelper"}


def asset_dir(example: SynthesizedApp) -> Path:
    return example.outdir / f"asset.{example.function_asset_hash()}"


def test_the_asset_ships_no_tests_caches_dotfiles_links_or_secrets(example):
    files = [path for path in asset_dir(example).rglob("*")]

    relative = [path.relative_to(asset_dir(example)).as_posix() for path in files]
    assert all(path.split("/")[0] in BUNDLED for path in relative), relative
    assert not [path for path in relative if re.search(r"(^|/)(tests?|__pycache__|\.[^/]+)(/|$)|\.pyc$", path)]
    assert not [path for path in files if path.is_symlink()]
    texts = {path.relative_to(asset_dir(example)).as_posix(): path.read_text() for path in files if path.is_file()}
    hits = [
        (name, path)
        for name, pattern in SECRET_PATTERNS.items()
        for path, text in texts.items()
        if re.search(pattern, text)
    ]
    assert hits == []
    size = sum(path.stat().st_size for path in files if path.is_file())
    figures.record(
        "security",
        "Asset: files / bytes (only layer_share_handler and crhelper sources)",
        f"{sum(path.is_file() for path in files)} / {size}",
    )
    figures.record("security", "Asset: tests, caches, dotfiles, links or secret-looking strings found", len(hits))


def imported_top_level_modules(source: str) -> set[str]:
    """What a module imports when it runs: imports under `if TYPE_CHECKING:` are for the type checker only."""
    tree = ast.parse(source)
    for block in [node for node in ast.walk(tree) if isinstance(node, ast.If)]:
        if isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING":
            block.body = []
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_the_asset_imports_only_the_standard_library_the_runtime_sdk_and_itself(example):
    imported = set().union(*(imported_top_level_modules(path.read_text()) for path in asset_dir(example).rglob("*.py")))

    outside = imported - set(sys.stdlib_module_names) - RUNTIME_PROVIDED - BUNDLED
    assert outside == set()
    figures.record(
        "security",
        "Asset: distinct top-level modules imported / not stdlib, boto3 or bundled",
        f"{len(imported)} / {len(outside)}",
    )


def test_the_bundled_crhelper_is_byte_for_byte_the_pinned_release(example):
    distribution = importlib.metadata.distribution("crhelper")
    recorded = {str(file): file.hash for file in distribution.files if str(file).startswith("crhelper/")}
    bundled = sorted(asset_dir(example).joinpath("crhelper").rglob("*.py"))

    pinned = re.search(r"^crhelper==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE)[1]
    assert distribution.version == pinned
    assert f'"crhelper=={pinned}"' in (REPO / "pyproject.toml").read_text()
    mismatched = [
        path.name
        for path in bundled
        if not matches_record(path, recorded[path.relative_to(asset_dir(example)).as_posix()])
    ]
    assert bundled and mismatched == []
    figures.record(
        "security",
        f"Asset: crhelper files checked against crhelper {pinned}'s RECORD / mismatches",
        f"{len(bundled)} / {len(mismatched)}",
    )


def matches_record(path: Path, recorded: importlib.metadata.FileHash) -> bool:
    """Whether the file's digest is the one the installed wheel's RECORD lists (urlsafe base64, no padding)."""
    digest = hashlib.new(recorded.mode, path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == recorded.value


def test_every_dependency_is_pinned_to_one_version():
    requirements = [
        line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    cli = json.loads((REPO / "package.json").read_text())["devDependencies"]

    unpinned = [
        line for line in requirements if not re.fullmatch(r"[A-Za-z0-9._-]+(\[[a-z,]+\])?==[A-Za-z0-9.]+", line)
    ]
    unpinned += [f"{name}@{version}" for name, version in cli.items() if not re.fullmatch(r"\d+\.\d+\.\d+", version)]
    assert unpinned == []
    assert (REPO / "package-lock.json").exists()
    figures.record(
        "security",
        "Dependencies pinned to one version (requirements.txt and package.json) / not pinned",
        f"{len(requirements) + len(cli)} / {len(unpinned)}",
    )
