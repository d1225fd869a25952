"""Synth cost against the number of grants: this construct, native CfnLayerVersionPermission, AwsCustomResource.

All three variants synthesize in this one process, interleaved, after an untimed warm-up of each,
so that starting the jsii kernel and loading aws-cdk-lib is charged to none of them.
"""

from __future__ import annotations

import ast
import io
import json
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.handler_bench import REPO_ROOT

OURS = "this construct"
NATIVE = "CfnLayerVersionPermission"
AWS_CUSTOM_RESOURCE = "AwsCustomResource"
VARIANTS = (OURS, NATIVE, AWS_CUSTOM_RESOURCE)
ACCOUNT, REGION = "111122223333", "us-east-1"
STACK_NAME = "Grants"
# Grants spread over layer versions as a platform team's would be: one layer version's policy holds about
# a hundred accounts (Lambda caps it at 20 KB), so N grants name N distinct versions of up to 50 layers.
LAYERS = 50


@dataclass(frozen=True)
class SynthSample:
    seconds: float
    template_bytes: int
    resources: int
    functions: int
    iam_policies: int
    asset_bytes_zipped: int


@dataclass
class SynthResults:
    samples: dict[str, dict[int, list[SynthSample]]] = field(default_factory=dict)
    # Requests from Python to the jsii kernel per added grant: each is a round trip to the node process.
    jsii_round_trips_per_grant: dict[str, float] = field(default_factory=dict)
    # What one grant's resources weigh in the template, by top-level key: where the bytes per grant go.
    grant_anatomy: dict[str, dict[str, float]] = field(default_factory=dict)
    # Each code asset's top-level entries zipped alone: as shipped, and Python sources without docstrings and comments.
    asset_anatomy: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)


def partner(number: int) -> str:
    return f"{400000000000 + number}"


def layer_version_arn(number: int) -> str:
    """Grant `number`'s layer version: versions 1, 2, ... of layers shared0 to shared49, in turn."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:shared{number % LAYERS}:{number // LAYERS + 1}"


def add_grants(variant: str, stack: Any, count: int) -> None:
    """Express `count` grants, each on its own layer version to its own account, the variant's way."""
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import custom_resources as cr

    from layer_share import LayerVersionPermission

    for number in range(count):
        account = partner(number)
        version_arn = layer_version_arn(number)
        layer_arn, version = version_arn.rsplit(":", 1)
        if variant == OURS:
            LayerVersionPermission(stack, f"Grant{number}", layer_version_arn=version_arn, principal=account)
        elif variant == NATIVE:
            lambda_.CfnLayerVersionPermission(
                stack,
                f"Grant{number}",
                action="lambda:GetLayerVersion",
                layer_version_arn=version_arn,
                principal=account,
            )
        else:
            statement = {"LayerName": layer_arn, "VersionNumber": int(version), "StatementId": f"share-{account}"}
            cr.AwsCustomResource(
                stack,
                f"Grant{number}",
                on_create=cr.AwsSdkCall(
                    service="Lambda",
                    action="addLayerVersionPermission",
                    parameters={**statement, "Action": "lambda:GetLayerVersion", "Principal": account},
                    physical_resource_id=cr.PhysicalResourceId.of(f"{version_arn}#share-{account}"),
                ),
                on_delete=cr.AwsSdkCall(service="Lambda", action="removeLayerVersionPermission", parameters=statement),
                policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[version_arn]),
                install_latest_aws_sdk=False,
            )


def synth(variant: str, count: int, context: dict[str, Any]) -> SynthSample:
    """Build the app and synthesize it to a fresh directory; the time covers both, as `cdk synth` would."""
    sample, _, _ = _synth_in_detail(variant, count, context)
    return sample


def _synth_in_detail(
    variant: str, count: int, context: dict[str, Any]
) -> tuple[SynthSample, dict[str, Any], dict[str, tuple[int, int]]]:
    """The sample, the template, and the assets' anatomy."""
    from aws_cdk import App, Environment, Stack

    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        app = App(outdir=outdir, context=context)
        stack = Stack(app, STACK_NAME, env=Environment(account=ACCOUNT, region=REGION))
        add_grants(variant, stack, count)
        assembly = app.synth()
        seconds = time.perf_counter() - started
        template_path = Path(assembly.get_stack_artifact(STACK_NAME).template_full_path)
        template = json.loads(template_path.read_text())
        types = Counter(resource["Type"] for resource in template["Resources"].values())
        sample = SynthSample(
            seconds=seconds,
            template_bytes=template_path.stat().st_size,
            resources=sum(types.values()),
            functions=types["AWS::Lambda::Function"],
            iam_policies=types["AWS::IAM::Policy"] + types["AWS::IAM::ManagedPolicy"] + _inline_role_policies(template),
            asset_bytes_zipped=sum(_zip_size(source, _zip_root(source)) for source in _code_assets(Path(outdir))),
        )
        anatomy = {
            part.name: (_zip_size(part, _zip_root(source)), _zip_size(part, _zip_root(source), _without_docstrings))
            for source in _code_assets(Path(outdir))
            for part in (sorted(source.iterdir()) if source.is_dir() else [source])
        }
        return sample, template, anatomy


def _inline_role_policies(template: dict[str, Any]) -> int:
    return sum(
        len(resource.get("Properties", {}).get("Policies", []))
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
    )


def _code_assets(outdir: Path) -> list[Path]:
    """The stack's file assets as staged in the cloud assembly, templates excluded."""
    sources = []
    for manifest in sorted(outdir.glob("*.assets.json")):
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            source = outdir / asset["source"]["path"]
            if not source.name.endswith(".template.json"):
                sources.append(source)
    return sources


def _zip_root(source: Path) -> Path:
    """A directory asset is zipped with paths inside it, as the CDK CLI uploads it; a file asset by its name."""
    return source if source.is_dir() else source.parent


def _zip_size(source: Path, root: Path, transform: Callable[[Path], bytes] = Path.read_bytes) -> int:
    """Bytes of a deflate zip of a file, or of a directory's files, named relative to `root`."""
    files = sorted(path for path in source.rglob("*") if path.is_file()) if source.is_dir() else [source]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as asset_zip:
        for path in files:
            asset_zip.writestr(str(path.relative_to(root)), transform(path))
    return len(archive.getvalue())


def _without_docstrings(path: Path) -> bytes:
    """A Python source without docstrings and comments (ast.unparse drops comments); other files as they are."""
    if path.suffix != ".py":
        return path.read_bytes()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree).encode()


def project_context() -> dict[str, Any]:
    """The example app's feature flags from cdk.json, so that every variant synthesizes as the app would."""
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


@contextmanager
def jsii_requests_counted() -> Iterator[list[int]]:
    """Count every request Python sends to the jsii kernel, callbacks' completions included."""
    import jsii

    process = jsii.kernel.provider._process
    send = process.send
    counted = [0]

    def counting_send(*args: Any, **kwargs: Any) -> Any:
        counted[0] += 1
        return send(*args, **kwargs)

    process.send = counting_send
    try:
        yield counted
    finally:
        del process.send  # the class's method shows through again


def per_grant_profile(variant: str, context: dict[str, Any]) -> tuple[float, dict[str, float]]:
    """jsii round trips per added grant, and the template bytes of one added grant, by part.

    Measured apart from the timed runs, so that the counting costs them nothing.
    """
    few, more = 1, 11
    # Uncounted: the first synth in the process also makes one-time requests, which are no grant's.
    _synth_in_detail(variant, few, context)
    with jsii_requests_counted() as at_few:
        _, before, _ = _synth_in_detail(variant, few, context)
    with jsii_requests_counted() as at_more:
        _, after, _ = _synth_in_detail(variant, more, context)
    added = {name: resource for name, resource in after["Resources"].items() if name not in before["Resources"]}
    parts = _anatomy(added)
    return (at_more[0] - at_few[0]) / (more - few), {part: size / (more - few) for part, size in parts.items()}


def _anatomy(resources: dict[str, Any]) -> Counter[str]:
    """Bytes by part, as the template file renders them (indent 1), each with its key and indentation."""
    parts: Counter[str] = Counter()
    for name, resource in resources.items():
        entries = {key: (value, 2) for key, value in resource.items() if key != "Properties"}
        entries.update({f"Properties.{key}": (value, 3) for key, value in resource.get("Properties", {}).items()})
        sizes = {key: _entry_bytes(key.rsplit(".", 1)[-1], value, depth) for key, (value, depth) in entries.items()}
        for key, size in sizes.items():
            parts[f"{resource['Type']} {key}"] += size
        # What is left: the logical ID, the braces, and the "Properties" key itself.
        parts[f"{resource['Type']} logical ID and structure"] += len(json.dumps({name: resource}, indent=1)) - sum(
            sizes.values()
        )
    return parts


def _entry_bytes(key: str, value: Any, depth: int) -> int:
    """One `"key": value,` line as json.dumps(indent=1) writes it at `depth`."""
    rendered = json.dumps(value, indent=1).replace("\n", "\n" + " " * depth)
    return depth + len(json.dumps(key)) + 2 + len(rendered) + 2


def run(counts: tuple[int, ...], repetitions: int, progress: Callable[[str], None]) -> SynthResults:
    context = project_context()
    results = SynthResults(samples={variant: {count: [] for count in counts} for variant in VARIANTS})
    for variant in VARIANTS:
        progress(f"synth warm-up and per-grant profile: {variant}")
        round_trips, anatomy = per_grant_profile(variant, context)
        results.jsii_round_trips_per_grant[variant], results.grant_anatomy[variant] = round_trips, anatomy
        results.asset_anatomy[variant] = _synth_in_detail(variant, 1, context)[2]
    for repetition in range(repetitions):
        for count in counts:
            progress(f"synth {repetition + 1}/{repetitions}, N={count}")
            # Rotate the order, so that no variant always follows the same one.
            shift = (repetition + count) % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                results.samples[variant][count].append(synth(variant, count, context))
    return results
