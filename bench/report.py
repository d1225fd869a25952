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
from collections.abc import Iterable
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


# The figures, each derived in one place.


def _ms(values: Iterable[float]) -> float:
    return median(list(values)) * 1000


def cold_ms(data: dict[str, Any], variant: str, memory_mb: int, field: str = "first_response_seconds") -> float:
    return _ms(
        sample[field]
        for sample in data["handler"]["cold_starts"]
        if (sample["variant"], sample["memory_mb"]) == (variant, memory_mb)
    )


def _events(data: dict[str, Any], variant: str, memory_mb: int, steps: Iterable[str] = STEPS) -> list[dict]:
    wanted = set(steps)
    return [
        sample
        for sample in data["handler"]["events"]
        if (sample["variant"], sample["memory_mb"]) == (variant, memory_mb) and sample["step"] in wanted
    ]


def warm_ms(data: dict[str, Any], variant: str, memory_mb: int, steps: Iterable[str], field: str = "seconds") -> float:
    return _ms(sample[field] for sample in _events(data, variant, memory_mb, steps))


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
        f"- Per memory size, {sizes['cold_starts']} rounds; each round starts a fresh worker per handler, in "
        "rotating order. Cold start: from starting the process until its first response (a Create) was delivered. "
        f"The worker then finishes that lifecycle untimed and runs {sizes['warm_lifecycles']} timed lifecycles: "
        f"{', '.join(STEPS)}. Figures are medians; ratios are this handler's figure divided by the baseline's.",
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
        ours, base = warm_ms(data, OURS, size, steps), warm_ms(data, CRHELPER_DEFAULT, size, steps)
        rows.append(
            [
                f"Warm {request_type} at {size} MB ≤ {WARM_LIMIT}× the baseline",
                f"{ours:.0f} ms vs {base:.0f} ms: {_ratio_text(ours, base)}",
                _yes_no(ours <= WARM_LIMIT * base),
            ]
        )
    ours_cold, base_cold = cold_ms(data, OURS, size), cold_ms(data, CRHELPER_DEFAULT, size)
    rows.append(
        [
            f"First response after a cold start at {size} MB no later than the baseline's",
            f"{ours_cold:.0f} ms vs {base_cold:.0f} ms: {_ratio_text(ours_cold, base_cold)}",
            _yes_no(ours_cold <= base_cold),
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
            ]
        )
    deleted = data["contention"][-1]
    rows.append(
        [
            f"{deleted['events']} parallel Deletes on one version: all SUCCESS, at most a few retries",
            f"{deleted['statuses']}, {deleted['retries']} retries",
            _yes_no(set(deleted["statuses"]) == {"SUCCESS"} and deleted["retries"] <= 3),
        ]
    )
    rows += _synth_targets(data["synth"])
    return ["## Targets", "", *_table(["Target", "Measured", "Met"], rows)]


def _request_range(data: dict[str, Any], variant: str, step: str, operations: tuple[str, ...]) -> tuple[int, int]:
    totals = [
        sum(sample["requests"].get(operation, 0) for operation in operations)
        for memory_mb in memory_sizes(data)
        for sample in _events(data, variant, memory_mb, [step])
    ]
    return min(totals), max(totals)


def _range_text(low_high: tuple[int, int]) -> str:
    low, high = low_high
    return str(low) if low == high else f"{low} to {high}"


def _cold_and_warm(data: dict[str, Any]) -> list[str]:
    lines = ["## 1. Handler latency at Lambda's CPU share", ""]
    for size in memory_sizes(data):
        ours_cold, base_cold = cold_ms(data, OURS, size), cold_ms(data, CRHELPER_DEFAULT, size)
        rows = [
            [
                "First response after a cold start, from process start",
                f"{ours_cold:.0f}",
                f"{base_cold:.0f}",
                _ratio_text(ours_cold, base_cold),
                *(f"{cold_ms(data, variant, size, 'cpu_seconds'):.0f}" for variant in (OURS, CRHELPER_DEFAULT)),
            ]
        ]
        for step in STEPS:
            ours, base = warm_ms(data, OURS, size, [step]), warm_ms(data, CRHELPER_DEFAULT, size, [step])
            cpu = [warm_ms(data, variant, size, [step], "cpu_seconds") for variant in (OURS, CRHELPER_DEFAULT)]
            rows.append(
                [
                    f"Warm {step}",
                    f"{ours:.0f}",
                    f"{base:.0f}",
                    _ratio_text(ours, base),
                    f"{cpu[0]:.0f}",
                    f"{cpu[1]:.0f}",
                ]
            )
        lines += [
            f"At {size} MB, milliseconds (median):",
            "",
            *_table(
                ["Event", OURS, CRHELPER_DEFAULT, "÷ baseline", f"CPU ms, {OURS}", f"CPU ms, {CRHELPER_DEFAULT}"],
                rows,
            ),
        ]
    return lines


def _memory_sizes(data: dict[str, Any]) -> list[str]:
    rows = []
    for size in memory_sizes(data):
        cold = cold_ms(data, OURS, size)
        warm = warm_ms(data, OURS, size, STEPS)
        gigabytes = size / 1024
        rows.append(
            [
                f"{size} MB",
                f"{cold:.0f}",
                f"{cold / 1000 * gigabytes:.3f}",
                f"{warm:.0f}",
                f"{warm / 1000 * gigabytes:.4f}",
            ]
        )
    return [
        "## 2. This handler's memory size: latency against GB-seconds",
        "",
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
            samples = [sample for size in memory_sizes(data) for sample in _events(data, variant, size, [step])]
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
        "## 3. Lambda requests per event",
        "",
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
        "## 4. Contention: grants on one layer version at once",
        "",
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
        "## 5. Retention: a version move (Update and cleanup Delete) and a stack's Delete, by versions kept",
        "",
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
        "## 6. Synth cost vs number of grants",
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
