"""Try a synthesized stack's layer grants before deploying it: play CloudFormation's custom resource
protocol against the Lambda stand-in, running the handler from the synthesized asset exactly as Lambda would.

    python -m tools.local_deploy cdk.out [--stack NAME]

Every grant's layer version must be a concrete ARN in the template (synthesize with layer version ARNs,
not an in-stack LayerVersion); the tool publishes those layer versions in the stand-in first. Every step
prints the layer policies; the run fails if any response was FAILED or if a policy differs from what the
template declares.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tools.cfn_protocol import LambdaContext, cfn_event
from tools.standins import LambdaStandIn, ResponseReceiver, publish_layer

RESOURCE_TYPE = "Custom::LayerVersionPermission"


class LocalDeployFailed(Exception):
    """A response was FAILED, or a layer policy is not what the template declares."""


@dataclass
class Grant:
    """One Custom::LayerVersionPermission resource as the local stack tracks it."""

    logical_id: str
    properties: dict[str, str]
    retain_on_replace: bool
    retain_on_delete: bool
    physical_id: str | None = None

    @property
    def layer_version_arn(self) -> str:
        return layer_version_arn(self.properties)


def layer_version_arn(properties: dict[str, str]) -> str:
    return f"{properties['LayerName']}:{properties['VersionNumber']}"


def as_cloudformation_sends(logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    """CloudFormation sends every property value as a string; local deploys need concrete values."""
    sent = {}
    for name, value in properties.items():
        if name == "ServiceToken":
            continue
        if isinstance(value, (dict, list)):
            raise LocalDeployFailed(
                f"{logical_id}.{name} is {json.dumps(value)}, not a concrete value; synthesize with the ARNs "
                "of layer versions published in the stand-in"
            )
        sent[name] = str(value)
    return sent


def grants_in(template: dict[str, Any]) -> list[Grant]:
    return [
        Grant(
            logical_id=logical_id,
            properties=as_cloudformation_sends(logical_id, resource["Properties"]),
            retain_on_replace=resource.get("UpdateReplacePolicy") == "Retain",
            retain_on_delete=resource.get("DeletionPolicy") == "Retain",
        )
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == RESOURCE_TYPE
    ]


def load_handler(assembly_dir: Path, template: dict[str, Any]) -> tuple[Callable, Any]:
    """Import the handler from its synthesized asset directory, as Lambda does: asset on sys.path, Handler string."""
    functions = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and "aws:asset:path" in resource.get("Metadata", {})
    ]
    if len(functions) != 1:
        raise LocalDeployFailed(f"expected one handler function with an asset, found {len(functions)}")
    asset_dir = (assembly_dir / functions[0]["Metadata"]["aws:asset:path"]).resolve()
    module_name, function_name = functions[0]["Properties"]["Handler"].rsplit(".", 1)
    sys.path.insert(0, str(asset_dir))
    module = importlib.import_module(module_name)
    if not Path(module.__file__).resolve().is_relative_to(asset_dir):
        raise LocalDeployFailed(f"{module_name} was imported from {module.__file__}, not from the asset {asset_dir}")
    return getattr(module, function_name), module


@dataclass
class LocalStack:
    """The grants of one stack and what CloudFormation would send for each lifecycle step."""

    handler: Callable
    receiver: ResponseReceiver
    grants: list[Grant]
    retained: list[Grant] = field(default_factory=list)
    events_sent: int = 0

    def send(self, request_type: str, grant: Grant, properties: dict[str, str], **fields: Any) -> dict[str, Any]:
        name = uuid.uuid4().hex
        self.handler(
            cfn_event(request_type, grant.logical_id, properties, self.receiver.url(name), **fields), LambdaContext()
        )
        self.events_sent += 1
        responses = self.receiver.responses_for(name)
        if len(responses) != 1:
            raise LocalDeployFailed(f"{request_type} {grant.logical_id}: {len(responses)} responses instead of one")
        body = responses[0].body
        if body["Status"] != "SUCCESS":
            raise LocalDeployFailed(f"{request_type} {grant.logical_id} FAILED: {body['Reason']}")
        return body

    def create_all(self) -> None:
        for grant in self.grants:
            grant.physical_id = self.send("Create", grant, grant.properties)["PhysicalResourceId"]

    def update(self, grant: Grant, properties: dict[str, str]) -> None:
        """An Update; a new PhysicalResourceId means replacement, and the old one is cleaned up unless retained."""
        body = self.send("Update", grant, properties, physical_id=grant.physical_id, old_properties=grant.properties)
        if body["PhysicalResourceId"] != grant.physical_id:
            old = Grant(
                grant.logical_id, grant.properties, grant.retain_on_replace, grant.retain_on_delete, grant.physical_id
            )
            if grant.retain_on_replace:
                self.retained.append(old)
            else:
                self.send("Delete", old, old.properties, physical_id=old.physical_id)
        grant.properties, grant.physical_id = properties, body["PhysicalResourceId"]

    def delete_all(self) -> None:
        for grant in reversed(self.grants):
            if grant.retain_on_delete:
                self.retained.append(grant)
            else:
                self.send("Delete", grant, grant.properties, physical_id=grant.physical_id)
        self.grants = []

    def declared(self) -> set[tuple[str, str, str, str]]:
        """(layer version, StatementId, principal, organization) that should exist now."""
        return {
            (
                grant.layer_version_arn,
                grant.properties["StatementId"],
                account_or_star(grant.properties["Principal"]),
                grant.properties.get("OrganizationId", "-"),
            )
            for grant in [*self.grants, *self.retained]
        }


def account_or_star(principal: str) -> str:
    return principal.split(":")[4] if principal.startswith("arn:") else principal


def actual_grants(layer_version_arns: set[str]) -> set[tuple[str, str, str, str]]:
    """What the stand-in's layer policies grant, read with a client of our own."""
    found = set()
    for arn in layer_version_arns:
        layer_arn, version = arn.rsplit(":", 1)
        client = boto3.client("lambda", region_name=arn.split(":")[3])
        try:
            policy = json.loads(
                client.get_layer_version_policy(LayerName=layer_arn, VersionNumber=int(version))["Policy"]
            )
        except client.exceptions.ResourceNotFoundException:
            continue
        for statement in policy["Statement"]:
            principal = statement["Principal"]
            principal = principal["AWS"] if isinstance(principal, dict) else principal
            organization = statement.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID", "-")
            found.add((arn, statement["Sid"], account_or_star(principal), organization))
    return found


def check_policies(stack: LocalStack, layer_version_arns: set[str], step: str) -> set[tuple[str, str, str, str]]:
    """The stand-in's grants on these layer versions, which must be exactly what the stack declares."""
    actual = actual_grants(layer_version_arns)
    if actual != stack.declared():
        raise LocalDeployFailed(
            f"after {step}, the policies differ from the template: missing {sorted(stack.declared() - actual)}, "
            f"unexpected {sorted(actual - stack.declared())}"
        )
    return actual


def print_policies(step: str, grants: set[tuple[str, str, str, str]]) -> None:
    print(f"\n  Layer policies after: {step}")
    rows = [("version", "StatementId", "principal", "organization")]
    rows += [
        (arn.split(":", 6)[-1], sid, principal, organization) for arn, sid, principal, organization in sorted(grants)
    ]
    if len(rows) == 1:
        rows.append(("(none)", "", "", ""))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@dataclass
class DeployReport:
    resources: int
    events: int
    api_calls: int
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.resources} grant resources, {self.events} CloudFormation events, all SUCCESS; "
            f"{self.api_calls} Lambda API calls; local deploy {self.seconds:.1f} s"
        )


def run_lifecycle(
    assembly_dir: Path,
    template: dict[str, Any],
    receiver: ResponseReceiver,
    publish_new_version: Callable[[str], str],
) -> DeployReport:
    """Create all grants, change one principal, move grants to a new layer version, then delete the stack.

    `publish_new_version(layer_version_arn)` publishes the next version of that layer and returns its ARN.
    """
    started = time.monotonic()
    handler, entry = load_handler(assembly_dir, template)
    grants = grants_in(template)
    if not grants:
        raise LocalDeployFailed(f"the template declares no {RESOURCE_TYPE} resources")
    api_calls = count_api_calls(entry, {grant.layer_version_arn.split(":")[3] for grant in grants})
    stack = LocalStack(handler, receiver, grants)
    seen_versions = {grant.layer_version_arn for grant in grants}

    def check(step: str, number: int) -> None:
        print_policies(step, check_policies(stack, seen_versions, step))
        print(f"  lifecycle {number}/4 ok: {step}", flush=True)

    stack.create_all()
    check(f"Create {len(grants)} grants", 1)

    changed = next(grant for grant in grants if grant.properties["Principal"] != "*")
    new_principal = f"{(int(account_or_star(changed.properties['Principal'])) + 1) % 10**12:012d}"
    stack.update(changed, {**changed.properties, "Principal": new_principal})
    check(f"Update {changed.logical_id}: principal -> {new_principal} (in place)", 2)

    old_version = grants[0].layer_version_arn
    new_version = publish_new_version(old_version)
    seen_versions.add(new_version)
    layer_name, version_number = new_version.rsplit(":", 1)
    for grant in [grant for grant in grants if grant.layer_version_arn == old_version]:
        stack.update(grant, {**grant.properties, "LayerName": layer_name, "VersionNumber": version_number})
    check(f"Update to new layer version {new_version.rsplit(':', 2)[-2]}:{version_number} (replacement)", 3)

    stack.delete_all()
    check("Delete the stack", 4)
    return DeployReport(len(grants), stack.events_sent, sum(api_calls.values()), time.monotonic() - started)


def count_api_calls(entry: Any, regions: set[str]) -> dict[str, int]:
    """Count the handler's Lambda calls with botocore's event hooks on its own clients."""
    calls: dict[str, int] = {}

    def count(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    for region in regions:
        entry.lambda_client(region).meta.events.register("before-call.lambda", count)
    return calls


@contextmanager
def running_standins() -> Iterator[ResponseReceiver]:
    """The Lambda stand-in and the ResponseURL receiver, with this process pointed at them; stopped on exit."""
    standin = LambdaStandIn().start()
    receiver = ResponseReceiver().start()
    os.environ.update({**standin.environment(), "SSL_CERT_FILE": receiver.ca_file})
    try:
        yield receiver
    finally:
        receiver.stop()
        standin.stop()


def stack_template(assembly_dir: Path, stack_name: str | None = None) -> tuple[str, dict[str, Any]]:
    """The named stack's template from a cloud assembly, or its only stack's."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    stacks = {
        name: artifact["properties"]["templateFile"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack" and name == (stack_name or name)
    }
    if len(stacks) != 1:
        raise LocalDeployFailed(
            f"name one stack with --stack; the assembly holds {sorted(stacks) or 'none by that name'}"
        )
    [(name, template_file)] = stacks.items()
    return name, json.loads((assembly_dir / template_file).read_text())


def next_version(layer_version_arn: str) -> str:
    """Publish the next version of a stand-in layer, as publishing a new LayerVersion would."""
    _, _, _, region, _, _, name, _ = layer_version_arn.split(":")
    return publish_layer(boto3.client("lambda", region_name=region), name)


def publish_declared_layers(grants: list[Grant]) -> None:
    """Publish, in the stand-in, every layer version the grants name, in its own account and region."""
    accounts = {grant.layer_version_arn.split(":")[4] for grant in grants}
    if len(accounts) != 1:
        raise LocalDeployFailed(f"the grants name layers in several accounts {sorted(accounts)}; one stack owns one")
    # The stand-in takes its account from this variable on every request.
    os.environ["MOTO_ACCOUNT_ID"] = accounts.pop()
    for arn in sorted({grant.layer_version_arn for grant in grants}):
        wanted, published = int(arn.rsplit(":", 1)[1]), 0
        while published < wanted:
            published = int(next_version(arn).rsplit(":", 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assembly", type=Path, help="the cloud assembly directory that cdk synth wrote, e.g. cdk.out")
    parser.add_argument("--stack", help="the stack to deploy, when the assembly holds several")
    arguments = parser.parse_args(argv)
    try:
        with running_standins() as receiver:
            name, template = stack_template(arguments.assembly, arguments.stack)
            print(f"Local deploy of {name}")
            publish_declared_layers(grants_in(template))
            report = run_lifecycle(arguments.assembly, template, receiver, next_version)
    except LocalDeployFailed as failure:
        print(f"\nLocal deploy FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"\nDone: {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
