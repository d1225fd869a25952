"""`layer-share verify`: compare the grants a template declares with the live layer version policies. Read-only.

CloudFormation cannot detect drift on custom resources, so this reads what it cannot: each declared grant's
layer version policy. A grant is present, missing, or changed (another principal or organization under its
StatementId); statements on those layer versions that no grant declares are reported too, and so is any
`*` without an organization, which lets every AWS account use the layer version.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from layer_share_handler.exceptions import InvalidProperties
from layer_share_handler.physical_id import LayerVersion, layer_version_for, parse_physical_id
from layer_share_handler.rules import ALL_ACCOUNTS, parse_properties
from layer_share_handler.statement import GrantStatement

from .assembly import AssemblyError, select_stacks, stacks_in
from .grants import NESTED_STACK_TYPE, RESOURCE_TYPE, declared_grants
from .policies import policy_statements
from .tables import table
from .template import URL_SUFFIX, StackValues, Unresolvable, as_sent, resolve

IN_SYNC, DRIFT, CANNOT_CHECK = 0, 1, 2
_AWS_ERRORS = (BotoCoreError, ClientError)


class CannotCheck(Exception):
    """Something the check needs could not be read."""


@dataclass(frozen=True)
class Declared:
    """A statement a grant resource declares, on the layer version it names."""

    grant: str  # where the grant is declared: stack path and logical ID
    layer_version: LayerVersion
    statement: GrantStatement


@dataclass(frozen=True)
class GrantState:
    declared: Declared
    status: str  # present, missing, changed, or unchecked
    found: GrantStatement | None = None
    problem: str = ""


@dataclass(frozen=True)
class Undeclared:
    """A statement on a checked layer version that no grant declares."""

    layer_version: LayerVersion
    statement_id: str
    statement: GrantStatement | None  # None when it is not a layer grant at all
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Report:
    grants: list[GrantState]
    undeclared: list[Undeclared]
    problems: list[str]

    @property
    def exit_status(self) -> int:
        """Drift when any was found, even if something else could not be checked; then could-not-check."""
        if self.undeclared or any(state.status in ("missing", "changed") for state in self.grants):
            return DRIFT
        return CANNOT_CHECK if self.problems or any(state.status == "unchecked" for state in self.grants) else IN_SYNC


def is_public(statement: GrantStatement | None) -> bool:
    return statement is not None and statement.principal == ALL_ACCOUNTS and statement.organization_id is None


def check(declared: list[Declared], lambda_client: Callable[[str], Any]) -> Report:
    """Read each layer version's policy once and compare it with the grants declared on it."""
    by_version: dict[LayerVersion, list[Declared]] = defaultdict(list)
    for item in declared:
        by_version[item.layer_version].append(item)
    states: list[GrantState] = []
    undeclared: list[Undeclared] = []
    for layer_version, items in by_version.items():
        try:
            statements = policy_statements(lambda_client(layer_version.region), layer_version)
        except _AWS_ERRORS as error:
            states += [GrantState(item, "unchecked", problem=_describe(error)) for item in items]
            continue
        found = {str(statement.get("Sid")): statement for statement in statements}
        for item in items:
            raw = found.get(item.statement.statement_id)
            current = GrantStatement.from_policy(raw) if raw is not None else None
            status = "missing" if raw is None else "present" if current == item.statement else "changed"
            states.append(GrantState(item, status, current))
        declared_ids = {item.statement.statement_id for item in items}
        undeclared += [
            Undeclared(layer_version, sid, GrantStatement.from_policy(raw), raw)
            for sid, raw in found.items()
            if sid not in declared_ids
        ]
    return Report(states, undeclared, [])


def from_assembly(arguments: argparse.Namespace) -> list[Declared]:
    stacks = select_stacks(stacks_in(arguments.assembly), arguments.stack)
    declared = []
    for stack in stacks:
        for grant in declared_grants(stack, dict(arguments.parameters)):
            try:
                request = parse_properties(grant.properties)
            except InvalidProperties as invalid:
                raise CannotCheck(f"{grant.path} has invalid properties, so it was never deployed: {invalid}") from None
            layer_version = layer_version_for(request.layer_name, request.version_number, grant.function_arn)
            declared.append(Declared(grant.path, layer_version, GrantStatement.requested(request)))
    return declared


def from_stack(cloudformation: Any, stack_name: str, parameters: Mapping[str, str]) -> list[Declared]:
    """The grants of a deployed stack and its nested stacks: the deployed template, parameters and physical IDs."""
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        body = cloudformation.get_template(StackName=stack["StackId"], TemplateStage="Processed")["TemplateBody"]
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack["StackId"])
        resources = {item["LogicalResourceId"]: item for page in pages for item in page["StackResourceSummaries"]}
    except _AWS_ERRORS as error:
        raise CannotCheck(f"cannot read the stack {stack_name}: {_describe(error)}") from None
    template = body if isinstance(body, Mapping) else json.loads(body)
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
        properties = {
            name: as_sent(resolve(value, values, f"{name} of {where}"), f"{name} of {where}")
            for name, value in resource.get("Properties", {}).items()
            if name != "ServiceToken"
        }
        try:
            request = parse_properties(properties)
        except InvalidProperties as invalid:
            raise CannotCheck(f"{where} has invalid properties: {invalid}") from None
        # The PhysicalResourceId names the statement the handler made; the template, who it is for.
        grant_id = parse_physical_id(resources.get(logical_id, {}).get("PhysicalResourceId"))
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
        declared.append(Declared(where, layer_version, requested))
    return declared


def run_verify(arguments: argparse.Namespace) -> int:
    session = boto3.session.Session(region_name=arguments.region)
    clients: dict[str, Any] = {}

    def lambda_client(region: str) -> Any:
        if region not in clients:
            clients[region] = session.client("lambda", region_name=region, endpoint_url=arguments.endpoint_url)
        return clients[region]

    try:
        if arguments.stack_name:
            cloudformation = session.client("cloudformation", endpoint_url=arguments.endpoint_url)
            declared = from_stack(cloudformation, arguments.stack_name, dict(arguments.parameters))
        else:
            declared = from_assembly(arguments)
        report = check(declared, lambda_client)
    except (CannotCheck, AssemblyError, Unresolvable) as problem:
        report = Report([], [], [str(problem)])
    except _AWS_ERRORS as error:
        report = Report([], [], [_describe(error)])
    print(json.dumps(as_json(report), indent=2) if arguments.json else as_text(report))
    return report.exit_status


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
                f"{state.declared.layer_version.name}:{state.declared.layer_version.version}",
                state.declared.layer_version.region,
                state.declared.statement.statement_id,
                _who(state.declared.statement),
                _who(state.found) if state.status == "changed" else "",
                state.status + (f": {state.problem}" if state.problem else ""),
            ]
            for state in report.grants
        ]
        headers = ("grant", "layer version", "region", "StatementId", "declared", "found", "status")
        lines += ["Declared grants:", table(headers, rows)]
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
    counts = defaultdict(int, {status: 0 for status in ("present", "missing", "changed", "unchecked")})
    for state in report.grants:
        counts[state.status] += 1
    summary = (
        f"{counts['present']} present, {counts['missing']} missing, {counts['changed']} changed, "
        f"{len(report.undeclared)} not declared, {counts['unchecked']} not checked"
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
    return {
        "status": {IN_SYNC: "in sync", DRIFT: "drift", CANNOT_CHECK: "could not check"}[report.exit_status],
        "grants": [
            {
                "grant": state.declared.grant,
                "layer_version_arn": state.declared.layer_version.arn,
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
