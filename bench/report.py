"""Turn one run's measurements into bench/RESULTS.md and bench/results.png."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.contention_bench import MINIMUM_REQUESTS, Phase
from bench.handler_bench import (
    CRHELPER_DEFAULT,
    FUNCTION_TIMEOUT,
    OURS,
    SHORT_TIMEOUT,
    STEPS,
    EventSample,
    HandlerResults,
)
from bench.measure import median, ratio
from bench.synth_bench import AWS_CUSTOM_RESOURCE, NATIVE, VARIANTS, SynthResults
from bench.synth_bench import OURS as OUR_CONSTRUCT

PACKAGES = ("aws-cdk-lib", "constructs", "jsii", "crhelper", "boto3", "botocore", "moto", "matplotlib")
TEMPLATE_BYTES_LIMIT = 1.25  # × native, per added grant
ASSET_LIMIT = 1 / 10  # of AwsCustomResource's asset
SYNTH_TIME_LIMIT = 1.2  # × native, at the largest N


@dataclass(frozen=True)
class Run:
    command: str
    machine: dict[str, str]
    sizes: dict[str, Any]
    seconds: float
    synth: SynthResults
    handler: HandlerResults
    contention: list[Phase]


@dataclass(frozen=True)
class Target:
    key: str
    what: str
    measured: str
    met: bool


def machine() -> dict[str, str]:
    """What the figures depend on: the CPU, its cores, and the versions of everything that ran."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return {
        "CPU": f"{cpu} ({platform.machine()})",
        "Cores": str(os.cpu_count()),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Node.js": node,
        **{package: importlib.metadata.version(package) for package in PACKAGES},
    }


# Figures, each derived in one place and used by the tables, the targets and the reading.


def synth_median(synth: SynthResults, variant: str, count: int, field: str) -> float:
    return median([getattr(sample, field) for sample in synth.samples[variant][count]])


def per_added_grant(synth: SynthResults, variant: str, field: str) -> float:
    """The slope from the smallest to the largest N: what one more grant adds."""
    counts = sorted(synth.samples[variant])
    low, high = counts[0], counts[-1]
    return (synth_median(synth, variant, high, field) - synth_median(synth, variant, low, field)) / (high - low)


def latency_ms(samples: list[EventSample]) -> float:
    return median([sample.latency for sample in samples]) * 1000


def request_range(samples: Iterable[EventSample]) -> tuple[int, int]:
    totals = [sum(sample.requests.values()) for sample in samples]
    return min(totals), max(totals)


def operations(samples: list[EventSample]) -> str:
    """The operations of the first sample with the fewest requests."""
    fewest = min(samples, key=lambda sample: sum(sample.requests.values()))
    return ", ".join(name + (f" ×{count}" if count > 1 else "") for name, count in sorted(fewest.requests.items()))


def all_sleeps(handler: HandlerResults, variant: str) -> list[float]:
    warm_up = [duration for sample in handler.warm_up[variant].values() for duration in sample.sleeps]
    stack = list(handler.stack_delete[variant].sleeps) if variant in handler.stack_delete else []
    return warm_up + stack


def targets(run: Run) -> list[Target]:
    synth, handler = run.synth, run.handler
    largest = max(synth.samples[NATIVE])
    ours_bytes = per_added_grant(synth, OUR_CONSTRUCT, "template_bytes")
    native_bytes = per_added_grant(synth, NATIVE, "template_bytes")
    ours_resources = per_added_grant(synth, OUR_CONSTRUCT, "resources")
    ours_asset = synth_median(synth, OUR_CONSTRUCT, largest, "asset_bytes_zipped")
    custom_asset = synth_median(synth, AWS_CUSTOM_RESOURCE, largest, "asset_bytes_zipped")
    ours_time = synth_median(synth, OUR_CONSTRUCT, largest, "seconds")
    native_time = synth_median(synth, NATIVE, largest, "seconds")
    creates = [*handler.events[OURS]["Create"], handler.warm_up[OURS]["Create"]]
    deletes = [
        *handler.events[OURS]["Delete"],
        *handler.events[OURS]["Delete (cleanup after replace)"],
        *([handler.stack_delete[OURS]] if OURS in handler.stack_delete else []),
    ]
    sleeps = all_sleeps(handler, OURS)
    statuses = sum((phase.statuses for phase in run.contention), Counter())
    return [
        Target(
            "template",
            f"Template bytes per added grant ≤ {TEMPLATE_BYTES_LIMIT}× native",
            f"{ours_bytes:,.0f} B vs {native_bytes:,.0f} B: {ours_bytes / native_bytes:.2f}×",
            ours_bytes <= TEMPLATE_BYTES_LIMIT * native_bytes,
        ),
        Target("resources", "Resources per added grant exactly 1", f"{ours_resources:.2f}", ours_resources == 1),
        Target(
            "asset",
            "Asset ≤ 1/10 of AwsCustomResource's (zipped)",
            f"{ours_asset:,.0f} B vs {custom_asset:,.0f} B: 1/{custom_asset / ours_asset:.1f}",
            ours_asset <= ASSET_LIMIT * custom_asset,
        ),
        Target(
            "synth time",
            f"Synth time ≤ {SYNTH_TIME_LIMIT}× native at N = {largest}",
            f"{ours_time:.2f} s vs {native_time:.2f} s: {ours_time / native_time:.1f}×",
            ours_time <= SYNTH_TIME_LIMIT * native_time,
        ),
        Target(
            "create",
            "Create: 1 Lambda request when there is no conflict",
            _range_text(request_range(creates)) + f" in {len(creates)} Creates",
            request_range(creates) == (1, 1),
        ),
        Target(
            "delete",
            "Delete: at most 2 Lambda requests",
            _range_text(request_range(deletes)) + f" in {len(deletes)} Deletes",
            request_range(deletes)[1] <= 2,
        ),
        Target("sleeps", "No event sleeps", f"{len(sleeps)} sleeps, {sum(sleeps):.3f} s", not sleeps),
        Target(
            "contention",
            "Contention: every response SUCCESS, final policy exact",
            f"{statuses['SUCCESS']} of {sum(statuses.values())} SUCCESS; policy exact after the Creates: "
            f"{_yes_no(run.contention[0].policy_exact)}, after the Deletes: {_yes_no(run.contention[1].policy_exact)}",
            set(statuses) == {"SUCCESS"} and all(phase.policy_exact for phase in run.contention),
        ),
    ]


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _range_text(low_high: tuple[int, int]) -> str:
    low, high = low_high
    return f"{low} request{'s' if low != 1 else ''}" if low == high else f"{low} to {high} requests"


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def _ratio_text(value: float, baseline: float) -> str:
    quotient = ratio(value, baseline)
    return "n/a" if quotient is None else f"{quotient:.2f}×"


def write_results(path: Path, run: Run) -> None:
    sections: list[Callable[[Run], list[str]]] = [
        _header,
        _machine,
        _method,
        _targets,
        _synth,
        _handler,
        _contention,
        _reading,
        _proposals,
    ]
    path.write_text("\n".join(line for section in sections for line in section(run)))


def _header(run: Run) -> list[str]:
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py`; do not edit by hand. `make bench` runs `.venv/bin/python -m bench.run`.",
        f"This run: `{run.command}`, {run.seconds / 60:.1f} minutes.",
        "",
    ]
    if run.sizes["grant_counts"] != (1, 10, 50, 200):
        lines += ["**A quick run: tiny sizes that only check the machinery. Its figures mean nothing.**", ""]
    return lines


def _machine(run: Run) -> list[str]:
    return ["## Machine", "", *_table(["", ""], ([name, value] for name, value in run.machine.items()))]


def _method(run: Run) -> list[str]:
    sizes = run.sizes
    return [
        "## How it was measured",
        "",
        "- Every comparison ran in this one run, interleaved: each repetition runs every variant, and the order "
        "rotates, so that drift and noise (2 shared cores) fall on all variants alike. Figures are medians; "
        "ratios are this project's figure divided by the other's.",
        f"- Synth: N = {', '.join(map(str, sizes['grant_counts']))} grants of one layer version, each to its own "
        f"account, in one stack, {sizes['synth_repetitions']} repetitions, in-process "
        "(`App(outdir=tmp).synth()`, with the example app's cdk.json feature flags). The time covers building "
        "the constructs and synthesizing, as `cdk synth` does. One untimed synth of each variant comes first, so "
        "that starting the jsii kernel and loading aws-cdk-lib is charged to none of them. Template bytes are the "
        "template file as the CDK writes it; asset bytes are the code assets zipped (deflate), template excluded.",
        "- Handlers: this handler and the baseline, `bench/crhelper_default_handler.py` (written as crhelper's "
        "README shows: a module-level `CfnResource()` with its defaults, `sleep_on_delete=120`), take complete "
        "CloudFormation events in this process. Lambda is the moto stand-in (`tools/standins.py`) in a child "
        "process on 127.0.0.1, so that it does not compete for this process's GIL; responses go to an HTTPS "
        "receiver here. An event's latency runs until the handler returns, its response delivered.",
        "- Lambda requests are counted with botocore's `before-send` event on each handler's client: one per HTTP "
        "attempt, botocore's own retries included. Sleeps are recorded with a profile hook on `time.sleep` "
        "during one untimed warm-up pass (the hook slows the code) and during the stack deletion.",
        f"- Cold start: {sizes['cold_starts']} fresh `python -c` processes per handler, each importing the entry "
        "module, building the Lambda client it needs, then handling one Create end to end.",
        f"- Events: {sizes['event_repetitions']} repetitions of Create, Update in place (new principal), Update "
        "with replacement (new StatementId), CloudFormation's cleanup Delete of the replaced grant, and Delete; "
        f"on a new layer version each time. The function timeout is {FUNCTION_TIMEOUT:.0f} s, except the "
        f"baseline's repeated Deletes, which get {SHORT_TIMEOUT:.0f} s so that crhelper skips its sleep and they "
        "measure the work; its sleep is measured once, for real, in a stack deletion with the full timeout.",
        f"- Contention: {sizes['contention_grants']} Creates on one layer version, each on its own thread, released "
        "together at a barrier, then their Deletes the same way.",
        "",
    ]


def _targets(run: Run) -> list[str]:
    return [
        "## Targets",
        "",
        *_table(
            ["Target", "Measured", "Met"],
            ([target.what, target.measured, "yes" if target.met else "**no**"] for target in targets(run)),
        ),
    ]


def _synth(run: Run) -> list[str]:
    synth = run.synth
    counts = sorted(synth.samples[NATIVE])
    rows = []
    for count in counts:
        native_time = synth_median(synth, NATIVE, count, "seconds")
        for variant in VARIANTS:
            value = functools.partial(synth_median, synth, variant, count)
            rows.append(
                [
                    str(count),
                    variant,
                    f"{value('seconds'):.3f}",
                    _ratio_text(value("seconds"), native_time),
                    f"{value('template_bytes'):,.0f}",
                    f"{value('resources'):.0f}",
                    f"{value('functions'):.0f}",
                    f"{value('iam_policies'):.0f}",
                    f"{value('asset_bytes_zipped'):,.0f}",
                ]
            )
    native_bytes = per_added_grant(synth, NATIVE, "template_bytes")
    per_grant = [
        [
            variant,
            f"{per_added_grant(synth, variant, 'template_bytes'):,.0f}",
            _ratio_text(per_added_grant(synth, variant, "template_bytes"), native_bytes),
            f"{per_added_grant(synth, variant, 'resources'):.2f}",
            f"{per_added_grant(synth, variant, 'seconds') * 1000:.2f}",
            f"{synth.jsii_round_trips_per_grant[variant]:.1f}",
        ]
        for variant in VARIANTS
    ]
    anatomy = [
        [variant, part.split(" ", 1)[0], part.split(" ", 1)[1], f"{size:.0f}"]
        for variant in (OUR_CONSTRUCT, NATIVE)
        for part, size in synth.grant_anatomy[variant].items()
    ]
    assets = [
        [variant, f"`{part}`", f"{shipped:,}", f"{stripped:,}"]
        for variant in (OUR_CONSTRUCT, AWS_CUSTOM_RESOURCE)
        for part, (shipped, stripped) in synth.asset_anatomy[variant].items()
    ]
    return [
        "## 1. Synth cost vs number of grants",
        "",
        "![Synth time and template bytes against N](results.png)",
        "",
        *_table(
            [
                "N",
                "Variant",
                "Synth s (median)",
                "÷ native",
                "Template bytes",
                "Resources",
                "Lambda functions",
                "IAM policies",
                "Asset bytes (zipped)",
            ],
            rows,
        ),
        f"What each added grant costs (slope from N = {counts[0]} to N = {counts[-1]}; jsii round trips "
        "counted in a separate, untimed synth):",
        "",
        *_table(
            [
                "Variant",
                "Template bytes / grant",
                "÷ native",
                "Resources / grant",
                "Synth ms / grant",
                "jsii round trips / grant",
            ],
            per_grant,
        ),
        "Where one grant's template bytes go:",
        "",
        *_table(["Variant", "Resource type", "Part", "Bytes"], anatomy),
        "What the code assets hold, each part zipped on its own:",
        "",
        *_table(["Variant", "Asset part", "Zipped bytes", "Zipped without docstrings and comments"], assets),
    ]


def _handler(run: Run) -> list[str]:
    handler = run.handler
    bare = median(handler.cold_start["bare interpreter"]["process wall time"]) * 1000
    cold_rows = [["bare interpreter (`python -c pass`)", "", "", f"{bare:.0f}"]]
    for variant in (OURS, CRHELPER_DEFAULT):
        metrics = handler.cold_start[variant]
        cold_rows.append(
            [
                variant,
                *(
                    f"{median(metrics[name]) * 1000:.0f}"
                    for name in ("import and build", "first event, from start", "process wall time")
                ),
            ]
        )
    ours_cold = handler.cold_start[OURS]
    base_cold = handler.cold_start[CRHELPER_DEFAULT]
    cold_rows.append(
        [
            "ratio (this ÷ baseline)",
            *(
                _ratio_text(median(ours_cold[name]), median(base_cold[name]))
                for name in ("import and build", "first event, from start", "process wall time")
            ),
        ]
    )
    event_rows = []
    for step in STEPS:
        ours, base = handler.events[OURS][step], handler.events[CRHELPER_DEFAULT][step]
        event_rows.append(
            [
                step,
                f"{latency_ms(ours):.1f}",
                _range_text(request_range(ours)),
                operations(ours),
                f"{latency_ms(base):.1f}",
                _range_text(request_range(base)),
                operations(base),
                _ratio_text(latency_ms(ours), latency_ms(base)),
            ]
        )
    lines = [
        "## 2. Handler cost per event",
        "",
        "Cold start, milliseconds (median):",
        "",
        *_table(["", "Import and build", "First event, from process start", "Process wall time"], cold_rows),
        "Per event, milliseconds (median) and Lambda requests:",
        "",
        *_table(
            [
                "Event",
                "This handler ms",
                "Requests",
                "Operations",
                "crhelper defaults ms",
                "Requests",
                "Operations",
                "÷ baseline",
            ],
            event_rows,
        ),
    ]
    if handler.crhelper_construction:
        lines += [
            f"Building a crhelper `CfnResource` (this handler builds one per event; crhelper's constructor creates "
            f"lambda, events and logs clients): {median(handler.crhelper_construction) * 1000:.1f} ms median.",
            "",
        ]
    lines += ["Sleeps and the wait a stack deletion sees:", ""]
    rows = []
    for variant in (OURS, CRHELPER_DEFAULT):
        warm_up = [duration for sample in handler.warm_up[variant].values() for duration in sample.sleeps]
        stack = handler.stack_delete.get(variant)
        rows.append(
            [
                variant,
                f"{len(warm_up)} ({sum(warm_up):.3f} s)",
                f"{stack.latency:.2f} s" if stack else "not measured (quick run)",
                f"{len(stack.sleeps)} ({sum(stack.sleeps):.2f} s)" if stack else "",
            ]
        )
    lines += _table(
        [
            "Handler",
            "Sleeps in the profiled pass of all events",
            f"Delete with a {FUNCTION_TIMEOUT:.0f} s timeout: time until CloudFormation has its answer",
            "Sleeps in that Delete",
        ],
        rows,
    )
    if handler.problems:
        lines += ["**Responses that were not SUCCESS:**", "", *(f"- {problem}" for problem in handler.problems), ""]
    return lines


def _contention(run: Run) -> list[str]:
    rows = [
        [
            phase.request_type,
            str(sum(phase.statuses.values())),
            f"{phase.wall_time:.2f}",
            f"{phase.slowest_event:.2f}",
            str(sum(phase.requests.values())),
            str(MINIMUM_REQUESTS[phase.request_type] * sum(phase.statuses.values())),
            str(phase.retries),
            ", ".join(f"{name} ×{count}" for name, count in sorted(phase.requests.items())),
            ", ".join(f"{status} ×{count}" for status, count in phase.statuses.items()),
            str(phase.policy_statements),
            "yes" if phase.policy_exact else "**no**",
        ]
        for phase in run.contention
    ]
    return [
        "## 3. Contention: grants on one layer version at once",
        "",
        *_table(
            [
                "Phase",
                "Events",
                "Wall s",
                "Slowest event s",
                "Requests",
                "Minimum",
                "Retries",
                "Operations",
                "Responses",
                "Statements after",
                "Policy exact",
            ],
            rows,
        ),
    ]


GRANT = "Custom::LayerVersionPermission"
STACK_RESOURCE_QUOTA = 500  # CloudFormation's resources per stack


def grants_per_stack(synth: SynthResults, variant: str) -> int:
    """How many grants fit in one stack under the resource quota, beside the variant's fixed resources."""
    per_grant = per_added_grant(synth, variant, "resources")
    fixed = synth_median(synth, variant, min(synth.samples[variant]), "resources") - per_grant
    return int((STACK_RESOURCE_QUOTA - fixed) // per_grant)


def custom_resource_floor(synth: SynthResults) -> float:
    """The bytes of the smallest custom resource that can carry one grant: its type, ServiceToken and the grant."""
    anatomy = synth.grant_anatomy[OUR_CONSTRUCT]
    needed = (
        "Type",
        "Properties.ServiceToken",
        "Properties.LayerName",
        "Properties.VersionNumber",
        "Properties.StatementId",
        "Properties.Principal",
        "logical ID and structure",
    )
    return sum(anatomy[f"{GRANT} {part}"] for part in needed)


def _reading(run: Run) -> list[str]:
    synth, handler = run.synth, run.handler
    largest = max(synth.samples[NATIVE])
    time_at = {variant: synth_median(synth, variant, largest, "seconds") for variant in VARIANTS}
    bytes_per = {variant: per_added_grant(synth, variant, "template_bytes") for variant in VARIANTS}
    ms_per = {variant: per_added_grant(synth, variant, "seconds") * 1000 for variant in VARIANTS}
    trips = synth.jsii_round_trips_per_grant
    floor = custom_resource_floor(synth)
    ours_cold, base_cold = handler.cold_start[OURS], handler.cold_start[CRHELPER_DEFAULT]
    cold = {
        name: (median(ours_cold[name]) * 1000, median(base_cold[name]) * 1000)
        for name in ("import and build", "first event, from start")
    }
    create = latency_ms(handler.events[OURS]["Create"]), latency_ms(handler.events[CRHELPER_DEFAULT]["Create"])
    delete = latency_ms(handler.events[OURS]["Delete"]), latency_ms(handler.events[CRHELPER_DEFAULT]["Delete"])
    construction = median(handler.crhelper_construction) * 1000
    created, deleted = run.contention
    requests = {
        step: _range_text(request_range(handler.events[OURS][step]))
        for step in ("Create", "Delete", "Update (in place)")
    }
    lines = [
        "## Reading",
        "",
        f"- **Synth.** At N = {largest} this construct synthesizes in {time_at[OUR_CONSTRUCT]:.2f} s, native "
        f"CfnLayerVersionPermission in {time_at[NATIVE]:.2f} s and AwsCustomResource in "
        f"{time_at[AWS_CUSTOM_RESOURCE]:.2f} s. The difference is per grant: {ms_per[OUR_CONSTRUCT]:.1f} ms against "
        f"{ms_per[NATIVE]:.1f} ms and {ms_per[AWS_CUSTOM_RESOURCE]:.1f} ms. Each grant of this construct crosses "
        f"from Python to the jsii kernel {trips[OUR_CONSTRUCT]:.0f} times; a native grant once, an "
        f"AwsCustomResource {trips[AWS_CUSTOM_RESOURCE]:.0f} times (it does more work on the node side). The "
        "handler function, role, log group and asset are built once per stack, so they show at N = 1 and not in "
        "the slope.",
        f"- **Template.** A grant adds {bytes_per[OUR_CONSTRUCT]:.0f} bytes here, {bytes_per[NATIVE]:.0f} natively "
        f"and {bytes_per[AWS_CUSTOM_RESOURCE]:.0f} with AwsCustomResource, which also needs an IAM policy per "
        f"grant: 2 resources per grant, so a stack holds at most {grants_per_stack(synth, AWS_CUSTOM_RESOURCE)} "
        f"of its grants under the {STACK_RESOURCE_QUOTA}-resource quota, against "
        f"{grants_per_stack(synth, OUR_CONSTRUCT)} of this construct's and {grants_per_stack(synth, NATIVE)} "
        f"native ones. The smallest custom resource that can carry a grant (type, ServiceToken, the four grant "
        f"properties) is already {floor:.0f} bytes, {floor / bytes_per[NATIVE]:.2f}× native: the "
        "`Fn::GetAtt` ServiceToken alone is about half a native grant. The rest here is DependsOn on the "
        "layer version's handler policy, the explicit replace and deletion policies, and ServiceTimeout.",
        "- **Cold start.** The baseline builds its Lambda client and crhelper's lambda, events and logs clients "
        "at import; this handler builds only its Lambda client at import, and crhelper's three inside its first "
        "event, because it builds a CfnResource per event. Import and build: "
        f"{cold['import and build'][0]:.0f} ms against {cold['import and build'][1]:.0f} ms; first event "
        f"answered {cold['first event, from start'][0]:.0f} ms against {cold['first event, from start'][1]:.0f} ms "
        "after process start.",
        f"- **Per event.** A Create takes {create[0]:.1f} ms against {create[1]:.1f} ms, a Delete {delete[0]:.1f} ms "
        f"against {delete[1]:.1f} ms. Building the CfnResource costs {construction:.1f} ms of every event; the "
        f"Create's difference is {create[0] - create[1]:.1f} ms. Lambda requests: Create {requests['Create']}; "
        f"Delete {requests['Delete']} (it reads the policy, then removes against the RevisionId it read); Update in "
        f"place {requests['Update (in place)']} (it reads first, so that an identical statement is kept "
        "untouched). The baseline's Delete and Update skip the read.",
    ]
    if handler.stack_delete:
        ours, base = handler.stack_delete[OURS], handler.stack_delete[CRHELPER_DEFAULT]
        lines.append(
            f"- **Stack deletion.** With a {FUNCTION_TIMEOUT:.0f} s function timeout, CloudFormation had the "
            f"baseline's Delete answer after {base.latency:.1f} s, {sum(base.sleeps):.1f} s of it asleep "
            f"(crhelper's sleep_on_delete, meant to let CloudWatch Logs catch up); this handler's after "
            f"{ours.latency:.2f} s, without a sleep. Every grant removed with the baseline holds its stack "
            "operation, and a Lambda execution, for two minutes."
        )
    lines += [
        f"- **Contention.** {sum(created.statuses.values())} Creates at once made {sum(created.requests.values())} "
        f"requests ({created.retries} retries) and finished in {created.wall_time:.2f} s: the stand-in applies writes "
        "to one policy one at a time, and an add without RevisionId does not conflict with another add. (It never "
        "answers ResourceConflictException for a write in progress, which Lambda may; the handler retries it.) "
        f"{sum(deleted.statuses.values())} Deletes at once made {sum(deleted.requests.values())} requests, "
        f"{deleted.retries} of them retries, and the last finished after {deleted.slowest_event:.2f} s: each Delete "
        "removes against the RevisionId it has just read, so every other removal in between fails it with "
        "PreconditionFailed and it starts over. All responses were "
        f"{'SUCCESS' if set(created.statuses) | set(deleted.statuses) == {'SUCCESS'} else 'not SUCCESS'}; the policy "
        f"held {'exactly' if created.policy_exact else '**not** exactly'} the {created.policy_statements} granted "
        f"statements after the Creates and {deleted.policy_statements} after the Deletes.",
        "",
    ]
    return lines


def _proposals(run: Run) -> list[str]:
    synth = run.synth
    missed = {target.key: target for target in targets(run) if not target.met}
    largest = max(synth.samples[NATIVE])
    parts = synth.asset_anatomy[OUR_CONSTRUCT]
    handler_zip, handler_stripped = parts["layer_share_handler"]
    crhelper_zip, _ = parts["crhelper"]
    custom_asset = synth_median(synth, AWS_CUSTOM_RESOURCE, largest, "asset_bytes_zipped")
    native_bytes = per_added_grant(synth, NATIVE, "template_bytes")
    anatomy = synth.grant_anatomy[OUR_CONSTRUCT]
    lines = ["## Missed targets and proposed changes", ""]
    if not missed:
        return [*lines, "Every target was met.", ""]
    if "template" in missed:
        floor = custom_resource_floor(synth)
        lines.append(
            f"- **Template bytes per grant** ({missed['template'].measured}). The design is the reason: one custom "
            f"resource per grant, and no custom resource can carry a grant in less than {floor:.0f} bytes "
            f"({floor / native_bytes:.2f}× native), so the target cannot be met while each grant stays its own "
            f"resource (itself a target). Trimming what is optional, ServiceTimeout "
            f"({anatomy[f'{GRANT} Properties.ServiceTimeout']:.0f} B) and the DeletionPolicy that only repeats the "
            f"default ({anatomy[f'{GRANT} DeletionPolicy']:.0f} B), would save about "
            f"{anatomy[f'{GRANT} Properties.ServiceTimeout'] + anatomy[f'{GRANT} DeletionPolicy']:.0f} B per grant, "
            "and give up the five-minute failure bound. Only one custom resource per layer version carrying the "
            "list of principals would meet 1.25×, and it would lose per-grant resources and per-grant rollback. "
            "Proposal: keep the design, and restate the target against the smallest custom resource above rather "
            "than against native."
        )
    if "asset" in missed:
        lines.append(
            f"- **Asset size** ({missed['asset'].measured}). crhelper is {crhelper_zip:,} B of it, and this handler "
            "already replaces most of crhelper's request flow (`_crhelper_init`, `_wrap_function`, `_timeout`, "
            "`_send`). Proposal: drop crhelper for the little it still provides (dispatch by RequestType and the "
            f"timeout timer): the asset would be about {handler_zip:,} B (1/{custom_asset / handler_zip:.1f}), "
            "and every event would stop building crhelper's three unused boto3 clients. Staging the sources "
            f"without docstrings and comments would bring it to about {handler_stripped:,} B "
            f"(1/{custom_asset / handler_stripped:.1f}), at the price of tracebacks whose line numbers no longer "
            "match the repository, which we do not recommend. AwsCustomResource's asset in this aws-cdk-lib is "
            f"one minified index.js of {custom_asset:,} B zipped that uses the AWS SDK in the Node.js runtime, not "
            "a bundled SDK of several megabytes."
        )
    if "synth time" in missed:
        smallest = min(synth.samples[NATIVE])
        trips = synth.jsii_round_trips_per_grant
        ms_per = {variant: per_added_grant(synth, variant, "seconds") * 1000 for variant in (OUR_CONSTRUCT, NATIVE)}
        per_trip = (ms_per[OUR_CONSTRUCT] - ms_per[NATIVE]) / (trips[OUR_CONSTRUCT] - trips[NATIVE])
        allowance = (SYNTH_TIME_LIMIT - 1) * synth_median(synth, NATIVE, largest, "seconds") * 1000
        per_stack = (
            synth_median(synth, OUR_CONSTRUCT, smallest, "seconds") - synth_median(synth, NATIVE, smallest, "seconds")
        ) * 1000
        lines.append(
            f"- **Synth time at N = {largest}** ({missed['synth time'].measured}). "
            f"{'The target cannot be met: ' if per_stack >= allowance else ''}{SYNTH_TIME_LIMIT}× native allows "
            f"{allowance:.0f} ms more than native for the whole stack, and the stack's handler function, role, log "
            f"group and asset take about {per_stack:.0f} ms (the difference at N = {smallest}). Per grant, the "
            f"construct makes {trips[OUR_CONSTRUCT]:.0f} jsii round trips against native's {trips[NATIVE]:.0f}, "
            f"each about {per_trip:.1f} ms: the grant's Construct; a "
            "CfnResource under a Resource construct, the tree the CustomResource construct built, so that logical "
            "IDs, `aws:cdk:path` metadata and escape hatches stay as they were; `Names.unique_resource_name` for the "
            "default StatementId; two `apply_removal_policy` calls (UpdateReplacePolicy, then DeletionPolicy); and "
            "`add_resource_dependency` on the handler policy. Attributes resolve on first use; the stack's handler, "
            "its ARN and its policies are found in Python. Two more round trips could go, each at a price: the "
            "Resource construct, which would change every grant's `aws:cdk:path` and construct tree, and the naming "
            "call, by reimplementing aws-cdk-lib's unique-name algorithm in Python, which must then follow every "
            "change to it. Proposal: keep the construct as it is, and restate the target as at most "
            f"{trips[OUR_CONSTRUCT]:.0f} jsii round trips per grant."
        )
    for key in ("resources", "create", "delete", "sleeps", "contention"):
        if key in missed:
            lines.append(f"- **{missed[key].what}**: {missed[key].measured}. See the tables above.")
    lines += [
        "",
        "Beyond the targets:",
        "",
        f"- Building crhelper's CfnResource in every event costs {median(run.handler.crhelper_construction) * 1000:.1f}"
        " ms per event (three boto3 clients the handler never uses). Dropping crhelper, as above, removes it; so "
        "would one helper per execution environment, at the price of the per-event isolation it was chosen for.",
        "- Delete could make 1 request instead of 2 and never retry under contention: for a grant whose outcome is "
        "known, the handler removes the statement whatever it contains, so reading the policy for its RevisionId "
        "protects nothing; removing by StatementId alone, with ResourceNotFoundException meaning already absent, "
        "gives the same result. The read and the RevisionId stay useful where the content is checked, after a "
        "Create whose outcome was unknown.",
        "",
    ]
    return lines


def plot(path: Path, synth: SynthResults) -> None:
    """Synth time and template bytes against N, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter, NullFormatter

    counts = sorted(synth.samples[NATIVE])
    figure, (time_axis, bytes_axis) = pyplot.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for variant, marker in zip(VARIANTS, ("o", "s", "^"), strict=True):
        label = f"({'abc'[VARIANTS.index(variant)]}) {variant}"
        time_axis.plot(counts, [synth_median(synth, variant, n, "seconds") for n in counts], marker=marker, label=label)
        bytes_axis.plot(
            counts,
            [synth_median(synth, variant, n, "template_bytes") / 1024 for n in counts],
            marker=marker,
            label=label,
        )
    for axis, title, unit in ((time_axis, "Synth wall time (median)", "seconds"), (bytes_axis, "Template size", "KiB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(counts, [str(count) for count in counts])
        axis.set_xlabel("grants on one layer version (N)")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
