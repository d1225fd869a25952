"""`layer-share try`: deploy a synthesized app's grants to an embedded Lambda, and play a change as CloudFormation.

Each synth's stacks are read in dependency order; their own layer versions are published from their assets
(layers.py), so a Ref or Fn::GetAtt to one, and an export of it, resolves to the version it is. A grant that needs a
value no stack provides is not played, and the others are.

Without --from, every grant is created. With --from, the previous synth is deployed first, then the change:
Create for new grants, Update for changed ones (in place or a replacement, as the handler's PhysicalResourceId
says), then the cleanup: a Delete for each replaced or removed grant unless its UpdateReplacePolicy or
DeletionPolicy is Retain. After each phase the layer policies must hold exactly what the templates declare, and
the older versions that a grant's retention (KeepVersions, RevokeRetainedOnDelete) keeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from layer_share_handler.exceptions import InvalidProperties
from layer_share_handler.ownership import window_of
from layer_share_handler.physical_id import LayerVersion
from layer_share_handler.rules import Retention, parse_properties

from .assembly import AssemblyError, StackArtifact, select_stacks, stacks_in
from .emulator.cloudformation import CloudFormation, Deployed, function_of
from .emulator.layers import StackLayers
from .emulator.receiver import ResponseReceiver
from .emulator.standin import LambdaStandIn
from .grants import AppGrants, DeclaredGrant, LayerResource, Parameters, StackScope, Unplayable, read_app
from .policies import VersionStatement, read_grants
from .tables import GRANT_HEADERS, grant_cells, table

Say = Callable[[str], None]


def _placeholder_layer(layer: LayerResource) -> str:
    """A layer version ARN for reading a synth before anything is published: its shape is all that matters."""
    scope = layer.scope
    return f"arn:{scope.partition}:lambda:{scope.region}:{scope.account}:layer:{layer.layer_name}:1"


def _always(_: StackScope) -> bool:
    return True


@dataclass
class Stacks:
    """The grant resources deployed so far, and the statements that no resource manages any more (left by a Retain
    policy, or kept by a removed grant that does not revoke what it kept)."""

    deployed: dict[tuple[str, str], Deployed] = field(default_factory=dict)
    left: dict[VersionStatement, str] = field(default_factory=dict)  # each with the path of the resource that left it

    def declared(
        self, versions_of: Callable[[LayerVersion], list[int]], before: set[VersionStatement]
    ) -> set[VersionStatement]:
        """What the layer policies must hold after a change (ownership.py): each deployed grant's window, where a
        version kept without a limit holds it only if it held it `before`; and what was left."""
        wanted = set(self.left)
        for resource in self.deployed.values():
            wanted |= _window_grants(resource, versions_of, before)
        return wanted

    def leave(self, resource: Deployed, why: str) -> None:
        """A replaced or removed resource whose policy is Retain leaves its statement as it is."""
        requested = resource.grant.requested()
        if requested is not None:
            self.left[VersionStatement(*requested)] = f"{resource.grant.path} ({why})"

    def declared_by(self) -> dict[tuple[str, str], str]:
        """Which resource declares each (layer version ARN, StatementId): a deployed grant names its whole layer."""
        named = {(grant.layer_version.arn, grant.statement.statement_id): path for grant, path in self.left.items()}
        for resource in self.deployed.values():
            requested = resource.grant.requested()
            if requested is not None:
                named[(requested[0].arn, requested[1].statement_id)] = resource.grant.path
                # The versions its retention keeps are its too; a statement left on one by another resource is not.
                named.setdefault((requested[0].layer_arn, requested[1].statement_id), resource.grant.path)
        return named


def _window_grants(
    resource: Deployed, versions_of: Callable[[LayerVersion], list[int]], before: set[VersionStatement]
) -> set[VersionStatement]:
    requested = resource.grant.requested()
    if requested is None:
        return set()
    layer_version, statement = requested
    kept = retention(resource.grant)
    window = window_of(layer_version.version, versions_of(layer_version) if kept.active else [], kept)
    held_before = {
        grant.layer_version.version
        for grant in before
        if grant.layer_version.layer_arn == layer_version.layer_arn
        and grant.statement.statement_id == statement.statement_id
    }
    return {
        VersionStatement(replace(layer_version, version=version), statement)
        for version in window.may_hold
        if version in window.must_hold or version in held_before
    }


def retention(grant: DeclaredGrant) -> Retention:
    try:
        return parse_properties(grant.properties).retention
    except InvalidProperties:
        return Retention()


def play(
    cloudformation: CloudFormation,
    stacks: Stacks,
    grants: list[DeclaredGrant],
    say: Say,
    versions_of: Callable[[LayerVersion], list[int]],
    held: set[VersionStatement],
    in_synth: Callable[[StackScope], bool] = _always,
) -> None:
    """Deploy `grants` over what `stacks` holds, in CloudFormation's order: creates and updates, then cleanup.
    `versions_of` lists the versions of a layer that exist; `held` is what the policies held before. A grant of a
    stack that is not `in_synth` stays deployed, as `cdk deploy` leaves a stack it does not synthesize."""
    current = {grant.key for grant in grants}
    functions = {grant.scope.path: function_of(grant) for grant in grants}
    deployed: dict[tuple[str, str], Deployed] = {}
    cleanup: list[tuple[Deployed, bool, str]] = []
    for grant in grants:
        old = stacks.deployed.get(grant.key)
        if old is None:
            deployed[grant.key] = cloudformation.create(grant)
            say(f"  Create  {grant.path}")
        elif dict(old.grant.properties) != dict(grant.properties):
            deployed[grant.key] = cloudformation.update(old, grant)
            replaced = deployed[grant.key].physical_id != old.physical_id
            say(f"  Update  {grant.path} ({'replacement' if replaced else 'in place'})")
            if replaced:
                cleanup.append((old, grant.update_replace_retain, "replaced"))
        else:
            deployed[grant.key] = Deployed(grant, old.physical_id)
    for key, old in stacks.deployed.items():
        if key in current:
            continue
        if in_synth(old.grant.scope):
            cleanup.append((old, old.grant.retain_on_delete, "removed"))
        else:
            deployed[key] = old
    stacks.deployed = deployed
    for old, retain, why in reversed(cleanup):
        if retain:
            stacks.leave(old, "retained")
            say(f"  Retain  {old.grant.path} ({why}; its policy is Retain)")
            continue
        # A stack that still has the function runs the cleanup with its new code; a removed one, with the old.
        live = deployed.get(old.grant.key) if why == "replaced" else None
        cloudformation.delete(old, functions.get(old.grant.scope.path, function_of(old.grant)), live)
        say(f"  Delete  {old.grant.path} ({why})")
        kept = retention(old.grant)
        if live is None and kept.active and not kept.revoke_retained_on_delete:
            # Removed without revoking what it kept: the window's older versions keep their statements.
            own = old.grant.requested()
            for kept_grant in _window_grants(old, versions_of, held):
                if own is None or kept_grant.layer_version != own[0]:
                    stacks.left[kept_grant] = f"{old.grant.path} (kept)"


@dataclass(frozen=True)
class TryResult:
    before: set[VersionStatement]
    after: set[VersionStatement]
    events: int
    event_seconds: float  # each event from sending it to reading its response, summed
    seconds: float  # the deploy and change, layer publishing and policy checks included
    unplayable: tuple[Unplayable, ...] = ()  # the last synth's grants that need a value no stack provides


class PoliciesDiffer(Exception):
    """The layer policies are not what the templates declare."""


def check(
    standin: LambdaStandIn, declared: set[VersionStatement], seen: Iterable[VersionStatement], step: str
) -> set[VersionStatement]:
    """The grants on every layer version involved (declared now, or seen before), which must be exactly the declared
    ones: a statement left on a version the templates no longer name counts too."""
    involved = {grant.layer_version for grant in seen} | {grant.layer_version for grant in declared}
    actual = read_grants(lambda version: standin.client("lambda", version.account, version.region), involved)
    if actual != declared:
        missing = "; ".join(
            " ".join(grant_cells(grant)) for grant in sorted(declared - actual, key=VersionStatement.sort_key)
        )
        extra = "; ".join(
            " ".join(grant_cells(grant)) for grant in sorted(actual - declared, key=VersionStatement.sort_key)
        )
        raise PoliciesDiffer(
            f"after {step}, the layer policies differ from the templates: missing [{missing}], not declared [{extra}]"
        )
    return actual


def run_try(
    assembly_dir: Path,
    previous_dirs: Sequence[Path],
    stack_names: list[str],
    parameters: Mapping[str, str],
    say: Say,
    destroy: bool = False,
    synth_parameters: Mapping[Path, Mapping[str, str]] | None = None,
) -> TryResult:
    """Deploy the grants against an embedded Lambda, or the first of `previous_dirs` and then each next synth as a
    change, ending with `assembly_dir`; raise on any failure. Before and after are those of the last change.
    Without `destroy`, a stack missing from a synth stays as it was deployed. `synth_parameters` holds values for
    one synth of the history, which win over `parameters` there."""
    directories = [*previous_dirs, assembly_dir]
    assemblies = [stacks_in(directory) for directory in directories]
    selections = [
        select_stacks(stacks, stack_names, missing_ok=directory != assembly_dir)
        for directory, stacks in zip(directories, assemblies, strict=True)
    ]
    by_synth = {directory.resolve(): values for directory, values in (synth_parameters or {}).items()}
    unknown = sorted(set(by_synth) - {directory.resolve() for directory in directories})
    if unknown:
        raise AssemblyError(f"--synth-parameters names {unknown[0]}, which is neither CDK_OUT nor a --from synth")
    givens = [Parameters({**parameters, **by_synth.get(directory.resolve(), {})}) for directory in directories]
    for given, every, selected in zip(givens, assemblies, selections, strict=True):
        # Every input error stops here, before anything runs.
        _check_parameters(given, assemblies)
        read_app(every, given, _placeholder_layer, selected=selected)
    standin = LambdaStandIn().start()
    receiver = ResponseReceiver().start()
    cloudformation = CloudFormation(standin, receiver)
    layers = StackLayers(standin)
    stacks = Stacks()

    def versions_of(layer_version: LayerVersion) -> list[int]:
        client = standin.client("lambda", layer_version.account, layer_version.region)
        listed = client.list_layer_versions(LayerName=layer_version.layer_arn)["LayerVersions"]
        return [version["Version"] for version in listed]

    started = time.perf_counter()
    try:
        before: set[VersionStatement] = set()
        state: set[VersionStatement] = set()
        seen: set[VersionStatement] = set()
        names_before: dict[tuple[str, str], str] = {}
        read = AppGrants()
        steps = zip(directories, givens, assemblies, selections, strict=True)
        for step, (directory, given, every, selected) in enumerate(steps):
            last = step == len(directories) - 1
            if last:
                names_before = stacks.declared_by()
            read = read_app(every, given, layers.publish, selected=selected)
            grants = read.grants
            _publish_layer_versions(standin, grants)
            if step == 0:
                what = "the deploy" if last else "the previous synth's deploy"
                say(f"\n{'Deploy' if last else 'Deploy the previous synth,'} {directory}: {_count(grants)}")
            else:
                what = f"the change to {directory.name}"
                say(f"\nChange to {directory}: {_count(grants)}")
            left = {resource.grant.scope.path for resource in stacks.deployed.values()}
            for path in sorted(left - {grant.scope.path for grant in grants}):
                if not destroy and not any(path == name or path.startswith(f"{name}/") for name in read.stacks):
                    say(f"  Left    {path} (not in this synth; --destroy plays it as deleted)")
            in_synth = _always if destroy else read.has_stack_of
            play(cloudformation, stacks, grants, say, versions_of, state, in_synth)
            for line in layers.finish(read, destroy):
                say(line)
            listed = {layer_version.layer_arn: versions_of(layer_version) for layer_version in _layers_of(seen)}
            existing = {grant for grant in seen if grant.layer_version.version in listed[grant.layer_version.layer_arn]}
            for unplayable in read.unplayable:
                say(f"  Not played  {unplayable.path}: {unplayable.reason}")
            declared = stacks.declared(versions_of, state)
            state = check(standin, declared, existing, what)
            seen = existing | state | declared
            if not last:
                before = state
        say(report(before, state, names_before, stacks.declared_by(), len(directories) > 1))
        return TryResult(
            before,
            state,
            cloudformation.events,
            cloudformation.event_seconds,
            time.perf_counter() - started,
            tuple(read.unplayable),
        )
    finally:
        cloudformation.close()
        receiver.stop()
        standin.stop()


def _check_parameters(given: Parameters, selections: list[list[StackArtifact]]) -> None:
    """A `Stack:Name=value` must name a stack of some synth: a typo would otherwise pass unnoticed."""
    names = {
        name
        for stacks in selections
        for stack in stacks
        for name in (stack.display_name, stack.artifact_id, stack.stack_name)
    }
    unknown = sorted(given.stacks_named() - names)
    if unknown:
        raise AssemblyError(
            f"--parameters names the stack {unknown[0]}, which no synth holds; expected STACK:NAME=VALUE with a "
            "stack path, artifact ID or stack name that `cdk ls` shows"
        )


def report(
    before: set[VersionStatement],
    after: set[VersionStatement],
    names_before: Mapping[tuple[str, str], str],
    names_after: Mapping[tuple[str, str], str],
    changed: bool,
) -> str:
    """The grants before and after as tables, each with the resource that declares it, then the diff."""
    headers = (*GRANT_HEADERS, "declared by")

    def rows(
        grants: Iterable[VersionStatement], names: Mapping[tuple[str, str], str], label: str = ""
    ) -> list[list[str]]:
        return [
            ([label] if label else []) + grant_cells(grant) + [_declarer(names, grant)]
            for grant in sorted(grants, key=VersionStatement.sort_key)
        ]

    diff = (
        rows(after - before, names_after, "granted")
        + rows(before - after, names_before, "revoked")
        + rows(before & after, names_after, "kept")
    )
    sections = []
    if changed:
        sections += ["\nGrants before the change:", table(headers, rows(before, names_before))]
    sections += ["\nGrants after:", table(headers, rows(after, names_after))]
    sections += ["\nDiff:", table(("", *headers), diff)]
    return "\n".join(sections)


def _declarer(names: Mapping[tuple[str, str], str], grant: VersionStatement) -> str:
    statement_id = grant.statement.statement_id
    version_named = names.get((grant.layer_version.arn, statement_id))
    return version_named or names.get((grant.layer_version.layer_arn, statement_id), "-")


def _publish_layer_versions(standin: LambdaStandIn, grants: list[DeclaredGrant]) -> None:
    """Publish, in the embedded Lambda, every layer version the grants name, as if the user had published them."""
    for layer_version in sorted({requested[0] for grant in grants if (requested := grant.requested())}, key=str):
        standin.publish_layer_version(layer_version)


def _layers_of(grants: Iterable[VersionStatement]) -> list[LayerVersion]:
    """One version of each layer the grants are on, to list the layer's versions by."""
    return list({grant.layer_version.layer_arn: grant.layer_version for grant in grants}.values())


def _count(grants: list[DeclaredGrant]) -> str:
    stacks = len({grant.scope.path for grant in grants})
    return f"{len(grants)} grant{'s' * (len(grants) != 1)} in {stacks} stack{'s' * (stacks != 1)}"
