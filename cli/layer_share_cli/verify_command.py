"""`layer-share verify`: compare the grants a template declares with the live layer version policies. Read-only.

CloudFormation cannot detect drift on custom resources, so this reads what it cannot: the policies of the versions
of each declared grant's layer. Which versions must hold the grant, and which may keep it, is the grant's window
(the handler's ownership model). On each version of the window a grant is present, missing, or changed (another
principal or organization under its StatementId); the grant's statement on a version outside the window is
`outside`. Statements on the window's versions that no grant declares are reported too, and so is any `*` without
an organization, which lets every AWS account use the layer version.

Every call has a connect and a read timeout and a small retry budget (NETWORK), and the policies are read in
parallel, at most MAX_PARALLEL_READS at a time, so an endpoint that never answers costs at most WORST_CASE_SECONDS
for a layer, whatever its number of versions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from layer_share_handler.exceptions import InvalidProperties
from layer_share_handler.ownership import Holding, Unreadable, drift, window_of
from layer_share_handler.physical_id import LayerVersion, PhysicalId, layer_version_for, parse_physical_id
from layer_share_handler.rules import ALL_ACCOUNTS, RESOURCE_TYPE, Retention, parse_properties
from layer_share_handler.statement import GrantStatement

from .assembly import AssemblyError, StackArtifact, select_stacks, stacks_in
from .grants import NESTED_STACK_TYPE, Parameters, StackScope, read_app, sent_properties
from .network import MAX_PARALLEL_READS, NETWORK
from .policies import MalformedPolicy, policy_statements
from .tables import table
from .template import URL_SUFFIX, MalformedTemplate, StackValues, Unresolvable

IN_SYNC, DRIFT, CANNOT_CHECK = 0, 1, 2
_AWS_ERRORS = (BotoCoreError, ClientError, MalformedPolicy)
# What reading an answer of a shape the API never gives raises (an endpoint that is not AWS's, say).
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


class CannotCheck(Exception):
    """Something the check needs could not be read."""


@dataclass(frozen=True)
class DeclaredStatement:
    """A statement a grant resource declares, on the layer version it names."""

    grant: str  # where the grant is declared: stack path and logical ID
    layer_version: LayerVersion
    statement: GrantStatement
    retention: Retention = field(default_factory=Retention)


@dataclass(frozen=True)
class VersionCheck:
    """The grant on one version of its layer: the current one, a kept one, or one outside its window."""

    declared: DeclaredStatement
    status: str  # present, missing, changed, outside, or unchecked
    found: GrantStatement | None = None
    problem: str = ""
    version: int | None = None  # the version of the grant's layer; None: the declared one

    @property
    def layer_version(self) -> LayerVersion:
        declared = self.declared.layer_version
        return declared if self.version is None else replace(declared, version=self.version)


@dataclass(frozen=True)
class UndeclaredStatement:
    """A statement on a checked layer version that no grant declares."""

    layer_version: LayerVersion
    statement_id: str
    statement: GrantStatement | None  # None when it is not a layer grant at all
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Report:
    grants: list[VersionCheck]
    undeclared: list[UndeclaredStatement]
    problems: list[str]

    @property
    def exit_status(self) -> int:
        """Drift when any was found, even if something else could not be checked; then could-not-check."""
        if self.undeclared or any(state.status in ("missing", "changed", "outside") for state in self.grants):
            return DRIFT
        return CANNOT_CHECK if self.problems or any(state.status == "unchecked" for state in self.grants) else IN_SYNC


def is_public(statement: GrantStatement | None) -> bool:
    return statement is not None and statement.principal == ALL_ACCOUNTS and statement.organization_id is None


def check(declared: list[DeclaredStatement], lambda_client: Callable[[str], Any]) -> Report:
    """List each layer's versions once, read the policies of its versions in parallel, and compare each grant with
    its window on that layer."""
    by_layer: dict[str, list[DeclaredStatement]] = defaultdict(list)
    for item in declared:
        by_layer[item.layer_version.layer_arn].append(item)
    clients = {item.layer_version.region: lambda_client(item.layer_version.region) for item in declared}
    with ThreadPoolExecutor(MAX_PARALLEL_READS) as pool:
        layers = list(pool.map(lambda items: _read_layer(items, clients), by_layer.values()))
    states: list[VersionCheck] = []
    undeclared: list[UndeclaredStatement] = []
    for items, (existing, policies) in zip(by_layer.values(), layers, strict=True):
        layer_states, layer_undeclared = _compare(items, existing, policies)
        states += layer_states
        undeclared += layer_undeclared
    return Report(states, undeclared, [])


# A policy read: the version's statements, or why they could not be read.
PolicyRead = list[dict[str, Any]] | str


def _read_layer(
    items: list[DeclaredStatement], clients: Mapping[str, Any]
) -> tuple[list[int] | str, dict[int, PolicyRead]]:
    """The layer's existing versions (or why they could not be listed) and the policies of those and the versions
    the grants name."""
    some = items[0].layer_version
    client = clients[some.region]
    try:
        pages = client.get_paginator("list_layer_versions").paginate(LayerName=some.layer_arn)
        existing: list[int] | str = [int(version["Version"]) for page in pages for version in page["LayerVersions"]]
    except _AWS_ERRORS as error:
        return _describe(error), {}
    except _SHAPE_ERRORS as error:
        return f"ListLayerVersions answered in a shape Lambda never uses ({_describe(error)})", {}
    versions = sorted({*existing, *(item.layer_version.version for item in items)})

    def read(version: int) -> PolicyRead:
        try:
            return policy_statements(client, replace(some, version=version))
        except _AWS_ERRORS as error:
            return _describe(error)

    # A pool of its own: waiting on the layers' pool from one of its threads could starve it.
    with ThreadPoolExecutor(MAX_PARALLEL_READS) as reads:
        return existing, dict(zip(versions, reads.map(read, versions), strict=True))


def _compare(
    items: list[DeclaredStatement], existing: list[int] | str, policies: Mapping[int, PolicyRead]
) -> tuple[list[VersionCheck], list[UndeclaredStatement]]:
    if isinstance(existing, str):
        return [VersionCheck(item, "unchecked", problem=existing) for item in items], []
    states: list[VersionCheck] = []
    in_windows: set[int] = set()
    for item in items:
        window = window_of(item.layer_version.version, existing, item.retention)
        in_windows |= window.may_hold
        unreadable = {
            version: read for version, read in policies.items() if isinstance(read, str) and version in window.must_hold
        }
        if unreadable:
            states += [
                VersionCheck(item, "unchecked", problem=problem, version=version)
                for version, problem in sorted(unreadable.items())
            ]
            continue
        holdings = {
            version: _holding(read, item.statement.statement_id)
            for version, read in policies.items()
            if not isinstance(read, str)
        }
        found = drift(item.statement, window, {version: held for version, held in holdings.items() if held is not None})
        for version in sorted({*window.must_hold, *found.outside, *found.changed}):
            held = holdings.get(version)
            status = (
                "missing"
                if version in found.missing
                else "changed"
                if version in found.changed
                else "outside"
                if version in found.outside
                else "present"
            )
            shown = held if isinstance(held, GrantStatement) else None
            states.append(
                VersionCheck(item, status, shown, version=None if version == item.layer_version.version else version)
            )
    declared_ids = {item.statement.statement_id for item in items}
    undeclared = []
    for version in sorted(in_windows):
        read = policies.get(version)
        for raw in read if isinstance(read, list) else []:
            if str(raw.get("Sid")) not in declared_ids:
                layer_version = replace(items[0].layer_version, version=version)
                undeclared.append(
                    UndeclaredStatement(layer_version, str(raw.get("Sid")), GrantStatement.from_policy(raw), raw)
                )
    return states, undeclared


def _holding(statements: list[dict[str, Any]], statement_id: str) -> Holding:
    for raw in statements:
        if raw.get("Sid") == statement_id:
            parsed = GrantStatement.from_policy(raw)
            return parsed if parsed is not None else Unreadable(json.dumps(raw))
    return None


def from_assembly(arguments: argparse.Namespace, say: Callable[[str], None]) -> list[DeclaredStatement]:
    stacks = stacks_in(arguments.assembly)
    selected = select_stacks(stacks, arguments.stack)
    environment = _Environment(arguments, say)
    read = read_app(stacks, Parameters(dict(arguments.parameters)), scope_for=environment.scope, selected=selected)
    if read.unplayable:
        raise CannotCheck(read.unplayable[0].reason)
    declared = []
    for grant in read.grants:
        try:
            request = parse_properties(grant.properties)
        except InvalidProperties as invalid:
            raise CannotCheck(f"{grant.path} has invalid properties, so it was never deployed: {invalid}") from None
        layer_version = layer_version_for(request.layer_name, request.version_number, grant.function_arn)
        declared.append(
            DeclaredStatement(grant.path, layer_version, GrantStatement.requested(request), request.retention)
        )
    return declared


class _Environment:
    """Where an environment-agnostic stack of the assembly is checked: --account and --region, else the default
    credentials' account and the configured region; never a guess. Stated once on stderr."""

    def __init__(self, arguments: argparse.Namespace, say: Callable[[str], None]) -> None:
        self.arguments, self.say, self.stated = arguments, say, False
        self.account: str | None = arguments.account
        self.region: str | None = arguments.region

    def scope(self, stack: StackArtifact, template: Mapping[str, Any]) -> StackScope:
        if stack.account is not None and stack.region is not None:
            return StackScope(stack.display_name, stack.stack_name, stack.account, stack.region)
        session = boto3.session.Session(region_name=self.region)
        if self.region is None:
            self.region = session.region_name
        if self.account is None:
            sts = session.client(
                "sts", region_name=self.region or "us-east-1", endpoint_url=self.arguments.endpoint_url, config=NETWORK
            )
            try:
                self.account = str(sts.get_caller_identity()["Account"])
            except _AWS_ERRORS as error:
                raise CannotCheck(
                    f"the stack {stack.display_name} is environment-agnostic and the default credentials' account "
                    f"cannot be read ({_describe(error)}); pass --account and --region"
                ) from None
        if self.region is None:
            raise CannotCheck(
                f"the stack {stack.display_name} is environment-agnostic and no region is configured; pass --region"
            )
        if not self.stated:
            self.say(f"Environment-agnostic stacks are checked in account {self.account}, region {self.region}")
            self.stated = True
        return StackScope(
            stack.display_name, stack.stack_name, stack.account or self.account, stack.region or self.region
        )


def from_stack(cloudformation: Any, stack_name: str, parameters: Mapping[str, str]) -> list[DeclaredStatement]:
    """The grants of a deployed stack and its nested stacks: the deployed template, parameters and physical IDs."""
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        body = cloudformation.get_template(StackName=stack["StackId"], TemplateStage="Processed")["TemplateBody"]
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack["StackId"])
        resources = {item["LogicalResourceId"]: item for page in pages for item in page["StackResourceSummaries"]}
    except _AWS_ERRORS as error:
        raise CannotCheck(f"cannot read the stack {stack_name}: {_describe(error)}") from None
    try:
        template = body if isinstance(body, Mapping) else json.loads(body)
    except (ValueError, RecursionError):
        raise CannotCheck(f"the template of the stack {stack_name} is not JSON; expected a JSON template") from None
    if not isinstance(template, Mapping) or not isinstance(template.get("Resources", {}), Mapping):
        raise CannotCheck(f"the template of the stack {stack_name} has no Resources object; expected a template")
    _, partition, _, region, account, *_ = stack["StackId"].split(":")
    pseudo = {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": partition,
        "AWS::URLSuffix": URL_SUFFIX,
        "AWS::StackName": stack["StackName"],
        "AWS::StackId": stack["StackId"],
    }
    deployed_parameters = {
        item["ParameterKey"]: item.get("ResolvedValue", item["ParameterValue"]) for item in stack.get("Parameters", [])
    }
    values = StackValues(
        template,
        pseudo,
        given={**deployed_parameters, **parameters},
        resources={name: item.get("PhysicalResourceId", "") for name, item in resources.items()},
    )
    function_arn = f"arn:{partition}:lambda:{region}:{account}:function:any"
    declared = []
    for logical_id, resource in template.get("Resources", {}).items():
        where = f"{stack['StackName']}/{logical_id}"
        if resource.get("Type") == NESTED_STACK_TYPE and logical_id in resources:
            declared += from_stack(cloudformation, resources[logical_id]["PhysicalResourceId"], parameters)
        if resource.get("Type") != RESOURCE_TYPE:
            continue
        # The PhysicalResourceId names the statement the handler made; the template, who it is for.
        grant_id = parse_physical_id(resources.get(logical_id, {}).get("PhysicalResourceId"))
        properties = _deployed_properties(resource, values, where, grant_id)
        try:
            request = parse_properties(properties)
        except InvalidProperties as invalid:
            raise CannotCheck(f"{where} has invalid properties: {invalid}") from None
        layer_version = (
            grant_id.layer_version
            if grant_id is not None
            else layer_version_for(request.layer_name, request.version_number, function_arn)
        )
        requested = GrantStatement.requested(request)
        if grant_id is not None:
            requested = GrantStatement(
                grant_id.statement_id, requested.principal, requested.organization_id, requested.action
            )
        declared.append(DeclaredStatement(where, layer_version, requested, request.retention))
    return declared


def _deployed_properties(
    resource: Mapping[str, Any], values: StackValues, where: str, grant_id: PhysicalId | None
) -> dict[str, str]:
    """The grant's properties as deployed. Its layer version comes from the PhysicalResourceId when the template
    reads it from elsewhere (an export of another stack, say), so such a grant is checked too."""
    known = None
    if grant_id is not None:
        layer_version = grant_id.layer_version
        known = {"LayerName": layer_version.layer_arn, "VersionNumber": str(layer_version.version)}
    return sent_properties(resource.get("Properties", {}), values, where, known)


def run_verify(arguments: argparse.Namespace) -> int:
    def say(line: str) -> None:
        print(line, file=sys.stderr)

    try:
        report = _verify(arguments, say)
    except (CannotCheck, AssemblyError, Unresolvable, MalformedTemplate) as problem:
        report = Report([], [], [" ".join(str(problem).split())])
    except _AWS_ERRORS as error:
        report = Report([], [], [_describe(error)])
    print(json.dumps(as_json(report), indent=2) if arguments.json else as_text(report))
    if report.exit_status == CANNOT_CHECK:
        print(f"layer-share verify: could not check: {_first_problem(report)}", file=sys.stderr)
    return report.exit_status


def _verify(arguments: argparse.Namespace, say: Callable[[str], None]) -> Report:
    endpoint = arguments.endpoint_url
    if endpoint is not None and not (urlparse(endpoint).scheme in ("http", "https") and urlparse(endpoint).netloc):
        raise CannotCheck(f"--endpoint-url {endpoint!r} is not a URL; expected http(s)://HOST[:PORT]")
    session = boto3.session.Session(region_name=arguments.region)
    clients: dict[str, Any] = {}

    def lambda_client(region: str) -> Any:
        if region not in clients:
            clients[region] = session.client("lambda", region_name=region, endpoint_url=endpoint, config=NETWORK)
        return clients[region]

    if arguments.stack_name:
        cloudformation = session.client("cloudformation", endpoint_url=endpoint, config=NETWORK)
        try:
            declared = from_stack(cloudformation, arguments.stack_name, dict(arguments.parameters))
        except _SHAPE_ERRORS as error:
            raise CannotCheck(
                f"CloudFormation answered for the stack {arguments.stack_name} in a shape it never uses "
                f"({_describe(error)})"
            ) from None
    else:
        declared = from_assembly(arguments, say)
    return check(declared, lambda_client)


def _first_problem(report: Report) -> str:
    problems = report.problems + [
        f"{state.declared.grant}: {state.problem}" for state in report.grants if state.problem
    ]
    return problems[0] if problems else "unknown"


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code')}: {details.get('Message')}"
    return f"{type(error).__name__}: {error}"


def _who(statement: GrantStatement | None) -> str:
    if statement is None:
        return "-"
    if is_public(statement):
        return "* (public)"
    return statement.principal + (f" in {statement.organization_id}" if statement.organization_id else "")


def as_text(report: Report) -> str:
    lines = []
    if report.grants:
        rows = [
            [
                state.declared.grant,
                f"{state.layer_version.name}:{state.layer_version.version}",
                state.layer_version.region,
                state.declared.statement.statement_id,
                _who(state.declared.statement),
                _who(state.found) if state.status in ("changed", "outside") else "",
                state.status + (f": {state.problem}" if state.problem else ""),
            ]
            for state in report.grants
        ]
        headers = ("grant", "layer version", "region", "StatementId", "declared", "found", "status")
        lines += ["DeclaredStatement grants:", table(headers, rows)]
    if report.undeclared:
        rows = [
            [
                f"{item.layer_version.name}:{item.layer_version.version}",
                item.layer_version.region,
                item.statement_id,
                _who(item.statement) if item.statement is not None else json.dumps(item.raw),
            ]
            for item in report.undeclared
        ]
        lines += [
            "",
            "Statements no grant declares:",
            table(("layer version", "region", "StatementId", "grants"), rows),
        ]
    public = [state.declared.grant for state in report.grants if is_public(state.declared.statement)]
    public += [
        f"{item.layer_version.arn} {item.statement_id}" for item in report.undeclared if is_public(item.statement)
    ]
    public += [state.declared.grant for state in report.grants if state.status == "changed" and is_public(state.found)]
    if public:
        lines += ["", "Public (* without an organization, so every AWS account may use the layer version):"]
        lines += [f"  {name}" for name in public]
    lines += [f"Could not check: {problem}" for problem in report.problems]
    lines += ["", _verdict(report)]
    return "\n".join(lines)


def _verdict(report: Report) -> str:
    counts = defaultdict(int, {status: 0 for status in ("present", "missing", "changed", "outside", "unchecked")})
    for state in report.grants:
        counts[state.status] += 1
    summary = (
        f"{counts['present']} present, {counts['missing']} missing, {counts['changed']} changed, "
        f"{counts['outside']} outside the window, {len(report.undeclared)} not declared, "
        f"{counts['unchecked']} not checked"
    )
    verdict = {IN_SYNC: "In sync", DRIFT: "Drift", CANNOT_CHECK: "Could not check"}[report.exit_status]
    return f"{verdict}: {summary}"


def _statement_json(statement: GrantStatement | None) -> dict[str, Any] | None:
    if statement is None:
        return None
    return {
        "principal": statement.principal,
        "organization_id": statement.organization_id,
        "public": is_public(statement),
    }


def as_json(report: Report) -> dict[str, Any]:
    error = {"error": _first_problem(report)} if report.exit_status == CANNOT_CHECK else {}
    return {
        "status": {IN_SYNC: "in sync", DRIFT: "drift", CANNOT_CHECK: "could not check"}[report.exit_status],
        **error,
        "grants": [
            {
                "grant": state.declared.grant,
                "layer_version_arn": state.layer_version.arn,
                "statement_id": state.declared.statement.statement_id,
                "status": state.status,
                "declared": _statement_json(state.declared.statement),
                "found": _statement_json(state.found),
                "problem": state.problem or None,
            }
            for state in report.grants
        ],
        "undeclared": [
            {
                "layer_version_arn": item.layer_version.arn,
                "statement_id": item.statement_id,
                "grants": _statement_json(item.statement),
                "statement": item.raw,
            }
            for item in report.undeclared
        ],
        "problems": report.problems,
    }
