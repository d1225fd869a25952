"""The grants an app declares: one Custom::LayerVersionPermission resource each, nested stacks included.

`read_app` is the one reader of an assembly's grants, for `try` and `verify`. It reads the stacks in dependency
order, so that a stack's exports and outputs resolve the Fn::ImportValue and Fn::GetStackOutput of the stacks that
depend on it. Each stack's own `AWS::Lambda::LayerVersion` resources are handed to a publisher (`try` publishes
them to the stand-in; without one their Ref stays unknown). A grant that needs a value no stack provides is set
aside with the reason, and the others are read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layer_share_handler.exceptions import InvalidProperties
from layer_share_handler.physical_id import LayerVersion, layer_version_for
from layer_share_handler.rules import RESOURCE_TYPE, parse_properties
from layer_share_handler.statement import GrantStatement

from .assembly import MAX_NESTING, AssemblyError, StackArtifact, field_of, in_dependency_order, read_json
from .iam import RoleAllows, role_allows
from .template import URL_SUFFIX, AppValues, MalformedTemplate, StackValues, Unresolvable, as_sent, resolve

NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
LAYER_VERSION_TYPE = "AWS::Lambda::LayerVersion"
# moto's default account and a common region, for a stack whose environment is left to deploy time and
# whose grants do not name their layer's account.
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class HandlerCode:
    """The grant handler as Lambda would run it: the asset directory, the function's Handler setting, and its
    Timeout in seconds (Lambda's default, 3 s, when the template sets none)."""

    asset_dir: Path
    handler: str
    timeout: float = 3.0


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
    role_allows: RoleAllows | None = field(default=None, hash=False)  # None: the template does not say it all

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


@dataclass(frozen=True)
class LayerResource:
    """An `AWS::Lambda::LayerVersion` of a stack, as its template declares it."""

    scope: StackScope
    logical_id: str
    properties: Mapping[str, Any] = field(hash=False)  # as written, intrinsics unresolved: a change replaces it
    layer_name: str  # its LayerName, or the name CloudFormation gives it: the logical ID
    asset: Path | None  # the directory or zip file of its content, when the assembly holds it
    update_replace_retain: bool
    retain_on_delete: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.scope.path, self.logical_id)


# Publishes a stack's layer version (or finds it published) and returns the version's ARN.
LayerPublisher = Callable[[LayerResource], str]


@dataclass(frozen=True)
class Parameters:
    """Values for parameters: `Stack/Path:Name=value` for one stack (its path, artifact ID or stack name), or
    `Name=value` for every stack that has no value of its own."""

    values: Mapping[str, str] = field(default_factory=dict)

    def for_stack(self, *names: str) -> dict[str, str]:
        bare = {name: value for name, value in self.values.items() if ":" not in name}
        own = {
            name.rpartition(":")[2]: value
            for name, value in self.values.items()
            if ":" in name and name.rpartition(":")[0] in names
        }
        return {**bare, **own}

    def stacks_named(self) -> set[str]:
        return {name.rpartition(":")[0] for name in self.values if ":" in name}


@dataclass(frozen=True)
class Unplayable:
    """A grant that needs a value no stack of the app provides."""

    path: str
    reason: str


@dataclass
class AppGrants:
    """The grants of the stacks read, the layers they publish, and the grants set aside."""

    grants: list[DeclaredGrant] = field(default_factory=list)
    layers: list[LayerResource] = field(default_factory=list)
    unplayable: list[Unplayable] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)  # the paths of the (top-level) stacks read

    def has_stack_of(self, scope: StackScope) -> bool:
        """Whether the stack holding `scope`, or `scope` itself, is one of the stacks read."""
        return any(scope.path == path or scope.path.startswith(f"{path}/") for path in self.stacks)


def scope_of(stack: StackArtifact, template: Mapping[str, Any]) -> StackScope:
    """The stack's own account and region; for an environment-agnostic stack, those of the layers it shares."""
    arns = [
        str(resource["Properties"]["LayerName"])
        for resource in template.get("Resources", {}).values()
        if isinstance(resource, Mapping)
        and resource.get("Type") == RESOURCE_TYPE
        and isinstance(resource.get("Properties"), Mapping)
        and str(resource["Properties"].get("LayerName", "")).startswith("arn:")
        and len(str(resource["Properties"]["LayerName"]).split(":")) > 4
    ]
    accounts = {arn.split(":")[4] for arn in arns}
    regions = {arn.split(":")[3] for arn in arns}
    return StackScope(
        path=stack.display_name,
        stack_name=stack.stack_name,
        account=stack.account or (accounts.pop() if len(accounts) == 1 else DEFAULT_ACCOUNT),
        region=stack.region or (regions.pop() if len(regions) == 1 else DEFAULT_REGION),
    )


def read_app(
    stacks: list[StackArtifact],
    parameters: Parameters,
    publish: LayerPublisher | None = None,
    scope_for: Callable[[StackArtifact, Mapping[str, Any]], StackScope] = scope_of,
    selected: list[StackArtifact] | None = None,
) -> AppGrants:
    """The grants of the `selected` stacks (all of `stacks` without a selection), read in dependency order, nested
    stacks included, with every property resolved. Every stack is read for the values it provides the others."""
    app = AppValues()
    read = AppGrants()
    for stack in in_dependency_order(stacks):
        template = stack.template()
        scope = scope_for(stack, template)
        given = parameters.for_stack(stack.display_name, stack.artifact_id, stack.stack_name)
        into = read if selected is None or stack in selected else AppGrants()
        reader = _StackReader(stack, app, given, publish, into)
        reader.read(template, scope, stack.directory / stack.template_file, None, ())
        if into is not read:
            read.layers += into.layers
    return read


class _StackReader:
    """Reads one stack of the app and its nested stacks into `found`, and records its outputs in `app`."""

    def __init__(
        self,
        stack: StackArtifact,
        app: AppValues,
        given: Mapping[str, str],
        publish: LayerPublisher | None,
        read: AppGrants,
    ) -> None:
        self.stack, self.app, self.given, self.publish, self.found = stack, app, given, publish, read

    def read(
        self,
        template: Mapping[str, Any],
        scope: StackScope,
        file: Path,
        parent: tuple[StackValues, Mapping[str, Any]] | None,
        ancestors: tuple[Path, ...],
    ) -> None:
        if file in ancestors or len(ancestors) > MAX_NESTING:
            raise AssemblyError(f"{file}: a nested stack that includes itself; expected a tree of nested stacks")
        resources = _resources(template, file)
        if parent is None:
            self.found.stacks.append(scope.path)
        layers = {
            logical_id: self._layer(scope, logical_id, resource, file)
            for logical_id, resource in resources.items()
            if resource.get("Type") == LAYER_VERSION_TYPE
        }
        published = {logical_id: self.publish(layer) for logical_id, layer in layers.items() if self.publish}
        self.found.layers += layers.values()
        values = StackValues(
            template,
            scope.pseudo_parameters(),
            given=self.given,
            resources=published,
            passed=parent[1] if parent else {},
            parent=parent[0] if parent else None,
            attributes={(logical_id, "LayerVersionArn"): arn for logical_id, arn in published.items()},
            app=self.app,
        )
        try:
            for logical_id, resource in resources.items():
                if resource.get("Type") == RESOURCE_TYPE:
                    self._grant(scope, logical_id, resource, resources, values, file)
                elif resource.get("Type") == NESTED_STACK_TYPE:
                    self._nested(scope, logical_id, resource, values, file, (*ancestors, file))
            if parent is None:
                self._outputs(template, values, file)
        except MalformedTemplate as malformed:
            raise AssemblyError(f"{file}: {malformed}") from None
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as shape:
            # The checks above name the common mistakes; this names any other shape cdk synth never writes.
            raise AssemblyError(
                f"{file}: a value of an unexpected shape ({type(shape).__name__}: {shape}); expected a template "
                "cdk synth wrote"
            ) from None

    def _grant(
        self,
        scope: StackScope,
        logical_id: str,
        resource: Mapping[str, Any],
        resources: Mapping[str, Any],
        values: StackValues,
        file: Path,
    ) -> None:
        where = f"{scope.path}/{logical_id}"
        construct = resource.get("Metadata", {}).get("aws:cdk:path")
        properties = field_of(dict(resource), "Properties", dict, f"{file} Resources.{logical_id}")
        try:
            resolved = sent_properties(properties, values, where)
        except Unresolvable as missing:
            reason = str(missing) + (f" (construct {construct})" if construct else "")
            self.found.unplayable.append(Unplayable(where, reason))
            return
        function_id = _service_function(properties, where, file)
        function = resources.get(function_id)
        if not isinstance(function, Mapping):
            raise AssemblyError(
                f"{file}: the ServiceToken of {logical_id} names {function_id}, which is not a resource"
            )
        function_properties = field_of(dict(function), "Properties", dict, f"{file} Resources.{function_id}")
        handler = field_of(function_properties, "Handler", str, f"{file} Resources.{function_id}.Properties")
        timeout = function_properties.get("Timeout", 3)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 900:
            raise AssemblyError(
                f"{file}: Resources.{function_id}.Properties.Timeout must be a whole number of seconds from 1 to 900, "
                f"got {timeout!r}"
            )
        asset = asset_of(self.stack, function, file)
        if asset is None:
            raise AssemblyError(
                f"{file}: the handler function {function_id} of {logical_id} has no asset in the assembly (neither "
                "aws:asset:path metadata nor an asset manifest entry); synthesize with `cdk synth`"
            )
        self.found.grants.append(
            DeclaredGrant(
                scope=scope,
                logical_id=logical_id,
                properties=resolved,
                update_replace_retain=resource.get("UpdateReplacePolicy", "Delete") == "Retain",
                retain_on_delete=resource.get("DeletionPolicy", "Delete") == "Retain",
                handler=HandlerCode(asset.resolve(), handler, float(timeout)),
                function_arn=f"arn:{scope.partition}:lambda:{scope.region}:{scope.account}:function:{function_id}",
                role_allows=role_allows(function, resources, values),
            )
        )

    def _nested(
        self,
        scope: StackScope,
        logical_id: str,
        resource: Mapping[str, Any],
        values: StackValues,
        file: Path,
        ancestors: tuple[Path, ...],
    ) -> None:
        nested_file = asset_of(self.stack, resource, file)
        if nested_file is None:
            return
        nested_scope = StackScope(
            f"{scope.path}/{logical_id}", f"{scope.stack_name}-{logical_id}", scope.account, scope.region
        )
        passed = resource.get("Properties", {}).get("Parameters", {})
        self.read(read_json(nested_file), nested_scope, nested_file, (values, passed), ancestors)

    def _layer(self, scope: StackScope, logical_id: str, resource: Mapping[str, Any], file: Path) -> LayerResource:
        properties = resource.get("Properties", {})
        name = properties.get("LayerName", logical_id)
        if not isinstance(name, str):
            raise AssemblyError(f"{file}: the LayerName of {logical_id} is {name!r}; expected a plain string")
        return LayerResource(
            scope=scope,
            logical_id=logical_id,
            properties=properties,
            layer_name=name,
            asset=asset_of(self.stack, resource, file),
            update_replace_retain=resource.get("UpdateReplacePolicy", "Delete") == "Retain",
            retain_on_delete=resource.get("DeletionPolicy", "Delete") == "Retain",
        )

    def _outputs(self, template: Mapping[str, Any], values: StackValues, file: Path) -> None:
        """The stack's outputs and exports, for the stacks read after it; one that cannot be resolved is left out,
        so that only the grants importing it are set aside."""
        outputs = template.get("Outputs", {})
        if not isinstance(outputs, Mapping):
            raise AssemblyError(f"{file}: the field Outputs is a JSON {type(outputs).__name__}; expected an object")
        for name, output in outputs.items():
            if not isinstance(output, Mapping) or "Value" not in output:
                raise AssemblyError(f"{file}: the output {name} has no Value; expected an object with a Value")
            try:
                value = resolve(output["Value"], values, f"the output {name} of {self.stack.display_name}")
                export = output.get("Export", {}).get("Name")
                export_name = None if export is None else resolve(export, values, f"the export of {name}")
            except Unresolvable:
                continue
            self.app.outputs[(self.stack.stack_name, str(name))] = value
            if export_name is not None:
                self.app.exports[str(export_name)] = value


def sent_properties(
    properties: Mapping[str, Any], values: StackValues, where: str, known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A grant's properties as CloudFormation sends them, ServiceToken aside. `known` gives the value of a property
    that the template reads from where this reader cannot (a deployed grant's layer version, from its ID)."""
    sent = {}
    for name, value in properties.items():
        if name == "ServiceToken":
            continue
        try:
            sent[name] = as_sent(resolve(value, values, f"{name} of {where}"), f"{name} of {where}")
        except Unresolvable:
            if known is None or name not in known:
                raise
            sent[name] = known[name]
    return sent


def _resources(template: Mapping[str, Any], file: Path) -> dict[str, Mapping[str, Any]]:
    resources: dict[str, Mapping[str, Any]] = field_of(dict(template), "Resources", dict, file, default={})
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping) or not isinstance(resource.get("Type"), str):
            raise AssemblyError(
                f"{file}: the resource {logical_id} is {str(resource)[:60]!r}; expected an object with a Type"
            )
        if not isinstance(resource.get("Metadata", {}), Mapping):
            raise AssemblyError(f"{file}: the Metadata of {logical_id} is not an object")
    return resources


def asset_of(stack: StackArtifact, resource: Mapping[str, Any], file: Path) -> Path | None:
    """Where the assembly holds a resource's asset: its aws:asset:path metadata, or else the file asset of the
    stack's asset manifests whose object key its properties name (an `app.synth()` writes no asset metadata)."""
    directory = stack.directory
    path = resource.get("Metadata", {}).get("aws:asset:path")
    if isinstance(path, str):
        return directory / path
    named = json.dumps(resource.get("Properties", {}))
    for manifest_file in stack.asset_manifests:
        manifest = read_json(directory / manifest_file)
        for asset in field_of(manifest, "files", dict, directory / manifest_file, default={}).values():
            keys = [
                destination.get("objectKey")
                for destination in (asset.get("destinations") or {}).values()
                if isinstance(destination, Mapping)
            ]
            source = asset.get("source", {}).get("path")
            if isinstance(source, str) and any(isinstance(key, str) and key in named for key in keys):
                return directory / source
    return None


def _service_function(properties: Mapping[str, Any], where: str, file: Path) -> str:
    token = properties.get("ServiceToken")
    match token:
        case {"Fn::GetAtt": [str() as function_id, "Arn"]}:
            return function_id
    raise AssemblyError(
        f"{file}: the ServiceToken of {where} is {token!r}; expected the Arn of a function in its own stack"
    )
