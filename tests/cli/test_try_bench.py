"""The `layer-share try` benchmark runs end to end on a tiny size and writes its table. Timings are not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_a_tiny_run_writes_the_per_event_table(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.try_bench", "--grants", "2", "--repetitions", "1", "--out", str(tmp_path)]
    subprocess.run(command, cwd=REPO, check=True, timeout=300, capture_output=True)

    results = (tmp_path / "TRY_RESULTS.md").read_text()
    assert "| events | 5 |" in results and "per event against the target of 0.1 s" in results
