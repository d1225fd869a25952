"""The benchmark script runs end to end on tiny sizes and writes both outputs. Timings are not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SECTIONS = (
    "## Machine",
    "## Targets",
    "## 1. Synth cost vs number of grants",
    "## 2. Handler cost per event",
    "## 3. Contention",
)


def test_quick_run_writes_results_and_plot(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)], cwd=REPO_ROOT, check=True, timeout=300
    )

    results = (tmp_path / "RESULTS.md").read_text()
    for section in SECTIONS:
        assert section in results
    for variant in ("this construct", "CfnLayerVersionPermission", "AwsCustomResource", "crhelper defaults"):
        assert variant in results
    assert "Responses that were not SUCCESS" not in results
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
