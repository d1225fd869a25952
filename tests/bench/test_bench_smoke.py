"""A tiny benchmark run produces its data file and its tables. Timings are not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SECTIONS = (
    "## Machine",
    "## How it was measured",
    "## Targets",
    "## 1. Handler latency at Lambda's CPU share",
    "## 2. This handler's memory size",
    "## 3. Lambda requests per event",
    "## 4. Contention",
    "## 5. Retention",
    "## 6. Synth cost vs number of grants",
)


def test_quick_run_writes_its_data_and_tables(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)], cwd=REPO_ROOT, check=True, timeout=600
    )

    data = json.loads((tmp_path / "results.json").read_text())
    assert {"machine", "sizes", "handler", "contention", "retention", "synth"} <= set(data)
    results = (tmp_path / "RESULTS.md").read_text()
    for section in SECTIONS:
        assert section in results
    for variant in ("this handler", "crhelper defaults", "this construct", "CfnLayerVersionPermission"):
        assert variant in results
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
