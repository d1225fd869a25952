"""The grants a template declares: one Custom::LayerVersionPermission resource each, nested stacks included."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layer_share_handler.exceptions import InvalidProperties
from layer_share_handler.physical_id import LayerVersion, layer_version_for
from layer_share_handler.rules import parse_properties
from layer_share_handler.statement import GrantStatement

from .assembly import AssemblyError, StackArtifact, read_json
from .template import URL_SUFFIX, StackValues, as_sent, resolve

RESOURCE_TYPE = "Custom::LayerVersionPermission"
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
# moto's default account and a common region, for a stack whose environment is left to deploy time and
# whose grants do not name their layer's account.
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class HandlerCode:
    """The grant handler as Lambda would run it: the asset directory and the function's Handler setting."""

    asset_dir: Path
    handler: str


@dataclass(frozen=True)
class StackScope:
    """A stack, nested or not, as CloudFormation deploys it."""

    path: str  # `Prod/Layers`, or `Prod/Layers/Runtime` for a nested stack
    stack_name: str
    account: str
    region: str
    partition: str = "aws"

    @property
    def stack_id(self) -> str:
        suffix = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account}/{self.region}/{self.path}")
        return f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/{suffix}"

    def pseudo_parameters(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
        }


@dataclass(frozen=True)
class DeclaredGrant:
    """One grant resource with its properties as CloudFormation sends them, and the code that handles it."""

    scope: StackScope
    logical_id: str
    properties: Mapping[str, str] = field(hash=False)
    update_replace_retain: bool
    retain_on_delete: bool
    handler: HandlerCode
    function_arn: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.scope.path, self.logical_id)

    @property
    def path(self) -> str:
        return f"{self.scope.path}/{self.logical_id}"

    def requested(self) -> tuple[LayerVersion, GrantStatement] | None:
        """The statement this grant asks for on which layer version; None when the handler would refuse it."""
        try:
            request = parse_properties(self.properties)
        except InvalidProperties:
            return None
        layer_version = layer_version_for(request.layer_name, request.version_number, self.function_arn)
        return layer_version, GrantStatement.requested(request)


def scope_of(stack: StackArtifact, template: Mapping[str, Any]) -> StackScope:
    """The stack's own account and region; for an environment-agnostic stack, those of the layers it shares."""
    arns = [
        resource["Properties"]["LayerName"]
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == RESOURCE_TYPE and str(resource["Properties"].get("LayerName", "")).startswith("arn:")
    ]
    accounts = {arn.split(":")[4] for arn in arns}
    regions = {arn.split(":")[3] for arn in arns}
    return StackScope(
        path=stack.display_name,
        stack_name=stack.stack_name,
        account=stack.account or (accounts.pop() if len(accounts) == 1 else DEFAULT_ACCOUNT),
        region=stack.region or (regions.pop() if len(regions) == 1 else DEFAULT_REGION),
    )


def declared_grants(stack: StackArtifact, parameters: Mapping[str, str]) -> list[DeclaredGrant]:
    """The stack's grants, then those of its nested stacks, with every property resolved."""
    template = stack.template()
    scope = scope_of(stack, template)
    values = StackValues(template, scope.pseudo_parameters(), given=parameters)
    return grants_in_template(template, scope, values, stack.directory, parameters)


def grants_in_template(
    template: Mapping[str, Any], scope: StackScope, values: StackValues, directory: Path, parameters: Mapping[str, str]
) -> list[DeclaredGrant]:
    resources: Mapping[str, Any] = template.get("Resources", {})
    grants = [
        _declared_grant(scope, logical_id, resource, resources, values, directory)
        for logical_id, resource in resources.items()
        if resource.get("Type") == RESOURCE_TYPE
    ]
    for logical_id, resource in resources.items():
        nested_file = resource.get("Metadata", {}).get("aws:asset:path")
        if resource.get("Type") != NESTED_STACK_TYPE or nested_file is None:
            continue
        nested_template = read_json(directory / nested_file)
        nested_scope = StackScope(
            f"{scope.path}/{logical_id}", f"{scope.stack_name}-{logical_id}", scope.account, scope.region
        )
        nested_values = StackValues(
            nested_template,
            nested_scope.pseudo_parameters(),
            given=parameters,
            passed=resource.get("Properties", {}).get("Parameters", {}),
            parent=values,
        )
        grants += grants_in_template(nested_template, nested_scope, nested_values, directory, parameters)
    return grants


def _declared_grant(
    scope: StackScope,
    logical_id: str,
    resource: Mapping[str, Any],
    resources: Mapping[str, Any],
    values: StackValues,
    directory: Path,
) -> DeclaredGrant:
    where = f"{scope.path}/{logical_id}"
    properties = {
        name: as_sent(resolve(value, values, f"{name} of {where}"), f"{name} of {where}")
        for name, value in resource.get("Properties", {}).items()
        if name != "ServiceToken"
    }
    function_id = _service_function(resource, where)
    function = resources.get(function_id, {})
    asset_path = function.get("Metadata", {}).get("aws:asset:path")
    if asset_path is None:
        raise AssemblyError(
            f"the handler function {function_id} of {where} has no aws:asset:path metadata; synthesize with "
            "`cdk synth`, which records it (or set the context aws:cdk:enable-asset-metadata=true)"
        )
    return DeclaredGrant(
        scope=scope,
        logical_id=logical_id,
        properties=properties,
        update_replace_retain=resource.get("UpdateReplacePolicy", "Delete") == "Retain",
        retain_on_delete=resource.get("DeletionPolicy", "Delete") == "Retain",
        handler=HandlerCode((directory / asset_path).resolve(), function["Properties"]["Handler"]),
        function_arn=f"arn:{scope.partition}:lambda:{scope.region}:{scope.account}:function:{function_id}",
    )


def _service_function(resource: Mapping[str, Any], where: str) -> str:
    token = resource.get("Properties", {}).get("ServiceToken")
    match token:
        case {"Fn::GetAtt": [str() as function_id, "Arn"]}:
            return function_id
    raise AssemblyError(f"the ServiceToken of {where} is {token!r}, not the Arn of a function in its own stack")
