"""The tables of bench/RESULTS.md and the plot, from the data file a run writes (results.json).

Only tables and the facts of the method are generated here. The reading of the figures is written by hand
below HAND_WRITTEN in RESULTS.md, and kept when the tables are rewritten.

python -m bench.report bench/results.json    # rewrite the tables from the data, without measuring again
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.contention_bench import MINIMUM_REQUESTS
from bench.handler_bench import CRHELPER_DEFAULT, FUNCTION_TIMEOUT, LIMITS, OURS, READS, STEPS, WRITES
from bench.measure import median, ratio
from bench.synth_bench import AWS_CUSTOM_RESOURCE, NATIVE, VARIANTS
from bench.synth_bench import OURS as OUR_CONSTRUCT

PACKAGES = ("aws-cdk-lib", "constructs", "jsii", "crhelper", "boto3", "botocore", "moto", "matplotlib")
HAND_WRITTEN = "<!-- Written by hand from here on: bench/report.py keeps it when it rewrites the tables above. -->"
WARM_LIMIT = 0.5  # × the baseline, at the construct's memory size
TEMPLATE_BYTES_LIMIT = 1.25  # × native, per added grant
ASSET_LIMIT = 1 / 10  # of AwsCustomResource's asset
SYNTH_TIME_LIMIT = 1.2  # × native, at the largest N


@dataclass(frozen=True)
class Section:
    """A numbered section of RESULTS.md: its title, the part of results.json it reads, and what measured that."""

    title: str
    data: str
    measured_by: str

    def heading(self, number: int) -> list[str]:
        return [
            f"## {number}. {self.title}",
            "",
            f"From `results.json` `{self.data}`, measured by {self.measured_by}.",
            "",
        ]


SECTIONS = (
    Section(
        "Handler wall and CPU time at Lambda's CPU share",
        "handler",
        "`bench/handler_bench.py` (each event answered in `bench/lambda_worker.py` under `bench/cpu_quota.py`)",
    ),
    Section(
        "This handler's memory size: latency against GB-seconds",
        "handler",
        "`bench/handler_bench.py`: section 1's figures of this handler, times the memory",
    ),
    Section(
        "Lambda requests per event",
        "handler.events[].requests",
        "`bench/lambda_worker.py`, with botocore's `before-send` event on each handler's client",
    ),
    Section("Contention: grants on one layer version at once", "contention", "`bench/contention_bench.py`"),
    Section(
        "Retention: a version move (Update and cleanup Delete) and a stack's Delete, by versions kept",
        "retention",
        "`bench/retention_bench.py`",
    ),
    Section("Synth cost vs number of grants", "synth", "`bench/synth_bench.py`"),
)


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
    # Other work on the machine stretches wall times, and a worker may not even get its quota; CPU times hold.
    load = ", ".join(f"{average:.1f}" for average in os.getloadavg())
    return {
        "CPU": f"{cpu} ({platform.machine()})",
        "Cores": str(os.cpu_count()),
        "Load average (1, 5, 15 min) as the run ended": load,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Node.js": node,
        **{package: importlib.metadata.version(package) for package in PACKAGES},
    }


def write_results(data_file: Path, out: Path) -> None:
    """RESULTS.md's tables from the data file, keeping its hand-written part; and the plot."""
    data = json.loads(data_file.read_text())
    results = out / "RESULTS.md"
    kept = results.read_text().partition(HAND_WRITTEN)[2] if results.exists() else ""
    tables = [
        *_header(data),
        *_method(data),
        *_targets(data),
        *_cold_and_warm(data),
        *_memory_sizes(data),
        *_requests(data),
        *_contention(data),
        *_retention(data),
        *_synth(data),
    ]
    results.write_text("\n".join(tables) + "\n" + HAND_WRITTEN + (kept or "\n\n## Reading\n\n(not written yet)\n"))
    plot(out / "results.png", data["synth"])


def where_from(data_file: Path, out: Path) -> str:
    """What a run prints: the targets' figures, and where every figure of RESULTS.md came from."""
    data = json.loads(data_file.read_text())
    sections = [
        f"- § {number}. {section.title}: `{section.data}`, measured by {section.measured_by}"
        for number, section in enumerate(SECTIONS, 1)
    ]
    return "\n".join(
        [
            f"`{data['command']}` measured every figure into {data_file}; {out / 'RESULTS.md'} holds the tables "
            f"written from it (again without measuring: `python -m bench.report {data_file}`).",
            "",
            *_targets(data),
            f"The sections of {out / 'RESULTS.md'} and the part of results.json each is written from:",
            "",
            *sections,
        ]
    )


# The figures, each derived in one place.


def _ms(values: Iterable[float]) -> float:
    return median(list(values)) * 1000


def _samples(data: dict[str, Any], kind: str, variant: str, memory_mb: int, steps: Iterable[str] | None) -> list[dict]:
    """The handler's samples of one kind ("cold_starts" or "events") for a variant and memory size."""
    wanted = None if steps is None else set(steps)
    return [
        sample
        for sample in data["handler"][kind]
        if (sample["variant"], sample["memory_mb"]) == (variant, memory_mb)
        and (wanted is None or sample["step"] in wanted)
    ]


@dataclass(frozen=True)
class Comparison:
    """This handler's median against the baseline's, in ms, and the same ratio taken round by round: each round
    is a fresh pair of workers, so the rounds' spread is the run's noise."""

    ours: float
    baseline: float
    round_ratios: tuple[float, ...]

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours, self.baseline)

    @property
    def within_noise(self) -> bool:
        """Some rounds went one way and some the other: the run cannot tell the two apart."""
        return bool(self.round_ratios) and min(self.round_ratios) <= 1 <= max(self.round_ratios)

    def ratio_text(self) -> str:
        text = _ratio_text(self.ours, self.baseline)
        if len(self.round_ratios) > 1:
            text += f" ({min(self.round_ratios):.2f} to {max(self.round_ratios):.2f})"
        return text + (", within noise" if self.within_noise else "")


def compare(
    data: dict[str, Any], kind: str, memory_mb: int, field: str, steps: Iterable[str] | None = None
) -> Comparison:
    """Ours against the baseline for one figure: `field` of the `kind` samples at `memory_mb`, over `steps`."""
    steps = None if steps is None else list(steps)
    ours, base = (_samples(data, kind, variant, memory_mb, steps) for variant in (OURS, CRHELPER_DEFAULT))
    by_round = [_by_round(samples, field) for samples in (ours, base)]
    rounds = sorted(by_round[0].keys() & by_round[1].keys())
    quotients = (ratio(by_round[0][number], by_round[1][number]) for number in rounds)
    return Comparison(
        _ms(sample[field] for sample in ours),
        _ms(sample[field] for sample in base),
        tuple(quotient for quotient in quotients if quotient is not None),
    )


def _by_round(samples: list[dict], field: str) -> dict[int, float]:
    rounds: defaultdict[int, list[float]] = defaultdict(list)
    for sample in samples:
        rounds[sample["round"]].append(sample[field])
    return {number: median(values) for number, values in rounds.items()}


def cold(data: dict[str, Any], memory_mb: int, field: str = "first_response_seconds") -> Comparison:
    return compare(data, "cold_starts", memory_mb, field)


def warm(data: dict[str, Any], memory_mb: int, steps: Iterable[str], field: str = "seconds") -> Comparison:
    return compare(data, "events", memory_mb, field, steps)


# Create, Update and Delete as CloudFormation sends them, each over all of its variations.
REQUEST_TYPES = {name: [step for step in STEPS if step.startswith(name)] for name in ("Create", "Update", "Delete")}


def memory_sizes(data: dict[str, Any]) -> list[int]:
    return [int(size) for size in data["sizes"]["memory_sizes"]]


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def _ratio_text(value: float, baseline: float) -> str:
    quotient = ratio(value, baseline)
    return "n/a" if quotient is None else f"{quotient:.2f}×"


def _yes_no(met: bool) -> str:
    return "yes" if met else "**no**"


def _header(data: dict[str, Any]) -> list[str]:
    lines = [
        "# Benchmarks",
        "",
        "The tables are written by `bench/report.py` from `results.json`, which `make bench` "
        "(`python -m bench.run`) writes; the reading at the end is written by hand.",
        f"This run: `{data['command']}`, {data['minutes']:.1f} minutes.",
        "",
    ]
    if data["quick"]:
        lines += ["**A quick run: tiny sizes that only check the machinery. Its figures mean nothing.**", ""]
    return [*lines, "## Machine", "", *_table(["", ""], ([name, value] for name, value in data["machine"].items()))]


def _method(data: dict[str, Any]) -> list[str]:
    sizes, handler = data["sizes"], data["handler"]
    quotas = [
        [
            f"{quota['memory_mb']} MB",
            f"{quota['quota_us']} / {quota['period_us']} µs",
            f"{quota['quota_us'] / quota['period_us']:.1%} of one vCPU",
            "yes" if quota["applied"] else f"**no**: {quota['why_not']}",
        ]
        for quota in handler["quotas"]
    ]
    return [
        "## How it was measured",
        "",
        f"- Handlers: this one and `bench/crhelper_default_handler.py` (crhelper's README pattern, its defaults), "
        f"each in its own worker process (`bench/lambda_worker.py`) started inside a cgroup v1 CPU quota equal to "
        f"Lambda's share at the memory size (1,769 MB = one vCPU), pinned to one core. Lambda is the moto stand-in "
        f"in another process, CloudFormation's ResponseURL an HTTPS receiver in the bench process, both outside the "
        f"quota. The handlers load the system CA bundle ({handler['ca_certificates']} certificates) plus the "
        f"receiver's CA. Function timeout {FUNCTION_TIMEOUT:.0f} s for every event.",
        f"- Events reach a worker {handler['event_gap_seconds'] * 1000:.0f} ms after its previous answer "
        "(`--event-gap`): CloudFormation reads each response from S3 before it proceeds, so a function's events "
        "never arrive back to back, and a gap longer than the quota's period lets each event start with its quota "
        "unspent, as on Lambda (`bench/handler_bench.py` says why).",
        f"- Per memory size, {sizes['cold_starts']} rounds; each round starts a fresh worker per handler, in "
        "rotating order. Cold start: from starting the process until its first response (a Create) was delivered. "
        f"The worker then finishes that lifecycle untimed and runs {sizes['warm_lifecycles']} timed lifecycles: "
        f"{', '.join(STEPS)}.",
        "- Wall ms: the handler call in the worker, by the monotonic clock. CPU ms: the worker's `time.process_time()` "
        "(user and system, every thread) over the same call; for a cold start, from process start. Wall time "
        "depends on the quota and the machine's load; CPU time is the work itself, and the figure to compare "
        "across machines.",
        "- Figures are medians. A ratio is this handler's median over the baseline's; in brackets, the lowest and "
        "highest of the same ratio taken round by round (each round a fresh pair of workers). When rounds fall on "
        "both sides of 1, the comparison is **within noise**: the run cannot tell the two handlers apart.",
        "- Lambda requests are counted with botocore's `before-send` event on each handler's client.",
        f"- Contention: {sizes['contention_grants']} Creates on one layer version, each on its own thread through "
        "this handler's entry point in the bench process (unthrottled), released together, then their Deletes.",
        f"- Synth: N = {', '.join(map(str, sizes['grant_counts']))} grants in one stack, "
        f"{sizes['synth_repetitions']} repetitions, in-process, after one untimed synth of each variant.",
        "",
        "CPU quotas:",
        "",
        *_table(["Memory", "cfs_quota_us / cfs_period_us", "Share", "Applied"], quotas),
    ]


def _targets(data: dict[str, Any]) -> list[str]:
    size = memory_sizes(data)[0]
    rows = []
    for request_type, steps in REQUEST_TYPES.items():
        wall, cpu = warm(data, size, steps), warm(data, size, steps, "cpu_seconds")
        rows.append(
            [
                f"Warm {request_type} at {size} MB ≤ {WARM_LIMIT}× the baseline",
                f"wall {wall.ours:.0f} ms vs {wall.baseline:.0f} ms: {wall.ratio_text()}; "
                f"CPU {cpu.ours:.0f} ms vs {cpu.baseline:.0f} ms: {cpu.ratio_text()}",
                _yes_no(wall.ours <= WARM_LIMIT * wall.baseline),
                "§1",
            ]
        )
    first = cold(data, size)
    rows.append(
        [
            f"First response after a cold start at {size} MB no later than the baseline's",
            f"{first.ours:.0f} ms vs {first.baseline:.0f} ms: {first.ratio_text()}",
            "yes, a tie" if first.within_noise else _yes_no(first.ours <= first.baseline),
            "§1",
        ]
    )
    for step in STEPS:
        writes, reads = _request_range(data, OURS, step, WRITES), _request_range(data, OURS, step, READS)
        limit_writes, limit_reads = LIMITS[step]
        rows.append(
            [
                f"{step}: at most {limit_writes} write(s) and {limit_reads} read(s)",
                f"{_range_text(writes)} write(s), {_range_text(reads)} read(s)",
                _yes_no(writes[1] <= limit_writes and reads[1] <= limit_reads),
                "§3",
            ]
        )
    deleted = data["contention"][-1]
    rows.append(
        [
            f"{deleted['events']} parallel Deletes on one version: all SUCCESS, at most a few retries",
            f"{deleted['statuses']}, {deleted['retries']} retries",
            _yes_no(set(deleted["statuses"]) == {"SUCCESS"} and deleted["retries"] <= 3),
            "§4",
        ]
    )
    rows += [[*row, "§6"] for row in _synth_targets(data["synth"])]
    return [
        "## Targets",
        "",
        "Each row's figures come from the section it names, where the method and the rest of the figures are.",
        "",
        *_table(["Target", "Measured", "Met", "From"], rows),
    ]


def _request_range(data: dict[str, Any], variant: str, step: str, operations: tuple[str, ...]) -> tuple[int, int]:
    totals = [
        sum(sample["requests"].get(operation, 0) for operation in operations)
        for memory_mb in memory_sizes(data)
        for sample in _samples(data, "events", variant, memory_mb, [step])
    ]
    return min(totals), max(totals)


def _range_text(low_high: tuple[int, int]) -> str:
    low, high = low_high
    return str(low) if low == high else f"{low} to {high}"


def _comparison_row(event: str, wall: Comparison, cpu: Comparison) -> list[str]:
    return [
        event,
        f"{wall.ours:.0f}",
        f"{wall.baseline:.0f}",
        wall.ratio_text(),
        f"{cpu.ours:.0f}",
        f"{cpu.baseline:.0f}",
        cpu.ratio_text(),
    ]


def _cold_and_warm(data: dict[str, Any]) -> list[str]:
    lines = SECTIONS[0].heading(1)
    header = [
        "Event",
        f"Wall ms, {OURS}",
        f"Wall ms, {CRHELPER_DEFAULT}",
        "Wall ÷ baseline (by round)",
        f"CPU ms, {OURS}",
        f"CPU ms, {CRHELPER_DEFAULT}",
        "CPU ÷ baseline (by round)",
    ]
    for size in memory_sizes(data):
        rows = [
            _comparison_row(
                "First response after a cold start, from process start",
                cold(data, size),
                cold(data, size, "cpu_seconds"),
            ),
            *(
                _comparison_row(f"Warm {step}", warm(data, size, [step]), warm(data, size, [step], "cpu_seconds"))
                for step in STEPS
            ),
        ]
        lines += [f"At {size} MB, medians:", "", *_table(header, rows)]
    return lines


def _memory_sizes(data: dict[str, Any]) -> list[str]:
    rows = []
    for size in memory_sizes(data):
        first, steady = cold(data, size).ours, warm(data, size, STEPS).ours
        gigabytes = size / 1024
        rows.append(
            [
                f"{size} MB",
                f"{first:.0f}",
                f"{first / 1000 * gigabytes:.3f}",
                f"{steady:.0f}",
                f"{steady / 1000 * gigabytes:.4f}",
            ]
        )
    return [
        *SECTIONS[1].heading(2),
        "Billed GB-seconds are the duration times the memory; a cold start is billed from process start "
        "(Lambda bills the init phase of ZIP functions).",
        "",
        *_table(
            [
                "Memory",
                "Cold start, first response ms",
                "GB-s per cold start",
                "Warm event ms (median of all steps)",
                "GB-s per warm event",
            ],
            rows,
        ),
    ]


def _requests(data: dict[str, Any]) -> list[str]:
    rows = []
    for step in STEPS:
        row = [step, f"{LIMITS[step][0]} / {LIMITS[step][1]}"]
        for variant in (OURS, CRHELPER_DEFAULT):
            samples = [
                sample for size in memory_sizes(data) for sample in _samples(data, "events", variant, size, [step])
            ]
            fewest = min(samples, key=lambda sample: sum(sample["requests"].values()))
            operations = ", ".join(
                f"{name}{f' ×{count}' if count > 1 else ''}" for name, count in sorted(fewest["requests"].items())
            )
            totals = (
                min(sum(sample["requests"].values()) for sample in samples),
                max(sum(sample["requests"].values()) for sample in samples),
            )
            row += [_range_text(totals), operations or "none"]
        rows.append(row)
    return [
        *SECTIONS[2].heading(3),
        *_table(
            [
                "Event",
                "Limit (writes / reads)",
                f"{OURS}: requests",
                "Operations",
                f"{CRHELPER_DEFAULT}: requests",
                "Operations",
            ],
            rows,
        ),
    ]


def _contention(data: dict[str, Any]) -> list[str]:
    rows = [
        [
            phase["request_type"],
            str(phase["events"]),
            f"{phase['wall_time']:.2f}",
            f"{phase['slowest_event']:.2f}",
            str(sum(phase["requests"].values())),
            str(MINIMUM_REQUESTS[phase["request_type"]] * phase["events"]),
            str(phase["retries"]),
            ", ".join(f"{name} ×{count}" for name, count in sorted(phase["requests"].items())),
            ", ".join(f"{status} ×{count}" for status, count in phase["statuses"].items()),
            str(phase["policy_statements"]),
            _yes_no(phase["policy_exact"]),
        ]
        for phase in data["contention"]
    ]
    header = ["Phase", "Events", "Wall s", "Slowest event s", "Requests", "Minimum", "Retries", "Operations"]
    return [
        *SECTIONS[3].heading(4),
        *_table([*header, "Responses", "Statements after", "Policy exact"], rows),
    ]


def _retention(data: dict[str, Any]) -> list[str]:
    rows = [
        [
            step["step"],
            "every" if step["keep_versions"] is None else str(step["keep_versions"]),
            str(step["versions"]),
            str(sum(step["requests"].values())),
            ", ".join(f"{name} ×{count}" for name, count in sorted(step["requests"].items())),
            f"{step['seconds'] * 1000:.0f}",
            ", ".join(step["statuses"]),
            ", ".join(map(str, step["shared_after"])) or "none",
        ]
        for step in data.get("retention", [])
    ]
    header = ["Step", "keep_versions", "Layer versions", "Requests", "Operations", "ms", "Responses", "Shared after"]
    return [
        *SECTIONS[4].heading(5),
        *_table(header, rows),
        "",
    ]


# Synth: the construct against the native resource and AwsCustomResource.


def synth_median(synth: dict[str, Any], variant: str, count: int, field: str) -> float:
    return median([sample[field] for sample in synth["samples"][variant][str(count)]])


def grant_counts(synth: dict[str, Any]) -> list[int]:
    return sorted(int(count) for count in synth["samples"][NATIVE])


def per_added_grant(synth: dict[str, Any], variant: str, field: str) -> float:
    """The slope from the smallest to the largest N: what one more grant adds."""
    counts = grant_counts(synth)
    low, high = counts[0], counts[-1]
    return (synth_median(synth, variant, high, field) - synth_median(synth, variant, low, field)) / (high - low)


def _synth_targets(synth: dict[str, Any]) -> list[list[str]]:
    largest = grant_counts(synth)[-1]
    ours_bytes, native_bytes = (
        per_added_grant(synth, variant, "template_bytes") for variant in (OUR_CONSTRUCT, NATIVE)
    )
    ours_resources = per_added_grant(synth, OUR_CONSTRUCT, "resources")
    ours_asset, custom_asset = (
        synth_median(synth, variant, largest, "asset_bytes_zipped") for variant in (OUR_CONSTRUCT, AWS_CUSTOM_RESOURCE)
    )
    ours_time, native_time = (synth_median(synth, variant, largest, "seconds") for variant in (OUR_CONSTRUCT, NATIVE))
    return [
        [
            f"Template bytes per added grant ≤ {TEMPLATE_BYTES_LIMIT}× native",
            f"{ours_bytes:,.0f} B vs {native_bytes:,.0f} B: {_ratio_text(ours_bytes, native_bytes)}",
            _yes_no(ours_bytes <= TEMPLATE_BYTES_LIMIT * native_bytes),
        ],
        ["Resources per added grant exactly 1", f"{ours_resources:.2f}", _yes_no(ours_resources == 1)],
        [
            "Asset ≤ 1/10 of AwsCustomResource's (zipped)",
            f"{ours_asset:,.0f} B vs {custom_asset:,.0f} B: 1/{custom_asset / ours_asset:.1f}",
            _yes_no(ours_asset <= ASSET_LIMIT * custom_asset),
        ],
        [
            f"Synth time ≤ {SYNTH_TIME_LIMIT}× native at N = {largest}",
            f"{ours_time:.2f} s vs {native_time:.2f} s: {_ratio_text(ours_time, native_time)}",
            _yes_no(ours_time <= SYNTH_TIME_LIMIT * native_time),
        ],
    ]


def _synth(data: dict[str, Any]) -> list[str]:
    synth = data["synth"]
    counts = grant_counts(synth)
    rows = []
    for count in counts:
        native_time = synth_median(synth, NATIVE, count, "seconds")
        for variant in VARIANTS:

            def value(field: str, variant: str = variant, count: int = count) -> float:
                return synth_median(synth, variant, count, field)

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
            f"{synth['jsii_round_trips_per_grant'][variant]:.1f}",
        ]
        for variant in VARIANTS
    ]
    anatomy = [
        [variant, part.split(" ", 1)[0], part.split(" ", 1)[1], f"{size:.0f}"]
        for variant in (OUR_CONSTRUCT, NATIVE)
        for part, size in synth["grant_anatomy"][variant].items()
    ]
    assets = [
        [variant, f"`{part}`", f"{shipped:,}", f"{stripped:,}"]
        for variant in (OUR_CONSTRUCT, AWS_CUSTOM_RESOURCE)
        for part, (shipped, stripped) in synth["asset_anatomy"][variant].items()
    ]
    return [
        *SECTIONS[5].heading(6),
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
        f"What each added grant costs (slope from N = {counts[0]} to N = {counts[-1]}):",
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


def plot(path: Path, synth: dict[str, Any]) -> None:
    """Synth time and template bytes against N, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter, NullFormatter

    counts = grant_counts(synth)
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


if __name__ == "__main__":
    data_file = Path(sys.argv[1])
    write_results(data_file, data_file.parent)
    print(where_from(data_file, data_file.parent))
