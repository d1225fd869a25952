"""A tiny benchmark run produces its data file, its tables and the note of where each figure came from; the
comparisons say when they are within noise; the hand-written reading of RESULTS.md restates no figure.
Timings are not asserted."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bench.handler_bench import CRHELPER_DEFAULT, EVENT_GAP_SECONDS, OURS
from bench.report import HAND_WRITTEN, SECTIONS, compare

REPO_ROOT = Path(__file__).resolve().parents[2]
SECTION_HEADINGS = (
    "## Machine",
    "## How it was measured",
    "## Targets",
    *(f"## {number}. {section.title}" for number, section in enumerate(SECTIONS, 1)),
)
# A measured figure: a number with a unit or as a ratio. Memory sizes and section numbers are names, not figures.
FIGURE = re.compile(r"\d[\d,.]*\s*(ms|s|µs|B|bytes|KB|%|×|x|GB-s)\b|\d[\d,.]*×|1/\d", re.IGNORECASE)


def test_quick_run_writes_its_data_and_tables_and_says_where_they_came_from(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        check=True,
        timeout=600,
        stdout=subprocess.PIPE,
        text=True,
    )

    data = json.loads((tmp_path / "results.json").read_text())
    assert {"machine", "sizes", "handler", "contention", "retention", "synth"} <= set(data)
    assert data["handler"]["event_gap_seconds"] == EVENT_GAP_SECONDS
    for event in data["handler"]["events"]:
        assert {"round", "seconds", "cpu_seconds"} <= set(event)
    results = (tmp_path / "RESULTS.md").read_text()
    for heading in SECTION_HEADINGS:
        assert heading in results
    for variant in ("this handler", "crhelper defaults", "this construct", "CfnLayerVersionPermission"):
        assert variant in results
    for section in SECTIONS:
        assert f"From `results.json` `{section.data}`" in results
        assert section.title in run.stdout
    assert str(tmp_path / "results.json") in run.stdout
    assert "## Targets" in run.stdout
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def _cold_starts(rounds: list[tuple[float, float]]) -> dict:
    """Cold starts of both handlers, one pair per round: (this handler's seconds, the baseline's)."""
    samples = [
        {"variant": variant, "memory_mb": 128, "round": number, "first_response_seconds": seconds}
        for number, pair in enumerate(rounds)
        for variant, seconds in zip((OURS, CRHELPER_DEFAULT), pair, strict=True)
    ]
    return {"handler": {"cold_starts": samples, "events": []}}


def test_a_comparison_whose_rounds_go_both_ways_is_within_noise() -> None:
    tie = compare(_cold_starts([(5.8, 6.0), (6.1, 5.9), (6.0, 6.0)]), "cold_starts", 128, "first_response_seconds")

    assert tie.within_noise
    assert tie.ratio_text() == f"{tie.ratio:.2f}× (0.97 to 1.03), within noise"


def test_a_comparison_whose_rounds_all_go_one_way_is_not_within_noise() -> None:
    faster = compare(_cold_starts([(0.5, 1.0), (0.6, 1.0)]), "cold_starts", 128, "first_response_seconds")

    assert not faster.within_noise
    assert faster.ours == 550
    assert faster.ratio_text() == "0.55× (0.50 to 0.60)"


def test_the_hand_written_reading_refers_to_the_tables_and_restates_no_figure() -> None:
    reading = (REPO_ROOT / "bench" / "RESULTS.md").read_text().partition(HAND_WRITTEN)[2]

    assert reading.strip()
    assert [figure.group(0) for figure in FIGURE.finditer(reading)] == []
