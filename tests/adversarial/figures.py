"""What the adversarial tests measured, collected while they run and rendered as REPORT.md.

Tests record rows; nothing here computes or invents a figure. `python -m tests.adversarial.report`
runs the suite and writes the report only when every test passed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)


TABLES: dict[str, Table] = {
    "lambda": Table(
        "Faults on the Lambda API (injected through a real HTTP proxy or a botocore hook)",
        (
            "Scenario",
            "Lambda calls on the wire",
            "Responses",
            "Status",
            "First response after (s)",
            "Handler returned after (s)",
            "Left before the Lambda deadline (s)",
            "Statements after",
        ),
    ),
    "delivery": Table(
        "Faults at the ResponseURL",
        (
            "Scenario",
            "PUT attempts",
            "Accepted",
            "Lambda write calls",
            "First PUT after (s)",
            "Handler returned after (s)",
            "Left before the Lambda deadline (s)",
        ),
    ),
    "concurrency": Table(
        "Concurrency (real threads, one shared client, moto server over HTTP)",
        (
            "Phase",
            "Invocations",
            "SUCCESS responses",
            "Lambda calls",
            "PreconditionFailed answers",
            "Wall time (s)",
            "Statements after",
            "Policy size (bytes)",
        ),
    ),
    "fuzz": Table(
        "Fuzzing (hypothesis, derandomized)",
        ("Strategy", "Examples run", "Responses", "Lambda calls", "Largest response (bytes)", "Longest Reason (bytes)"),
    ),
    "bad_inputs": Table(
        "Bad inputs tried by the fuzzer, by kind",
        ("Kind", "Examples", "Lambda calls"),
    ),
    "security": Table("Security checks", ("Check", "Measured")),
}

_lock = threading.Lock()


def record(table: str, *values: object) -> None:
    """Add one row of measured values; floats are shown to two decimals."""
    columns = TABLES[table].columns
    if len(values) != len(columns):
        raise ValueError(f"table {table!r} has columns {columns}, got {len(values)} values: {values}")
    with _lock:
        TABLES[table].rows.append(tuple(f"{value:.2f}" if isinstance(value, float) else str(value) for value in values))


def render(preamble: list[str]) -> str:
    lines = ["# Adversarial suite: measured figures", "", *preamble]
    for table in TABLES.values():
        lines += [
            "",
            f"## {table.title}",
            "",
            "| " + " | ".join(table.columns) + " |",
            "|" + "---|" * len(table.columns),
        ]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"
