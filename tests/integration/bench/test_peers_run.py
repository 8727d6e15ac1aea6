"""``tributary bench peers`` end to end on a small workload: every system's table is checked after
every step, the JSON line comes last and the results file is written. No time is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]


def test_bench_peers_runs_checks_every_system_and_writes_json(tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("tributary")
    args = [str(cli), "bench", "peers", "--rows", "3000", "--repeats", "1", "--results-dir", str(tmp_path)]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=600, env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last == json.loads((tmp_path / "peers.json").read_text())
    assert last["correct"] is True and last["failures"] == []
    assert [s["step"] for s in last["steps"]] == ["load 3k", "upd 300", "upd 3", "del 30", "ins 300"]
    for step in last["steps"]:
        assert step["correct"] is True
        assert step["ratio_vs_delta"] > 0 and step["cli_ratio_vs_delta"] > 0 and step["floor_ratio_vs_delta"] > 0
        assert set(step["seconds"]) == {"tributary", "tributary_cli", "delta", "duckdb"}
    assert last["noop_apply_seconds"] > 0 and last["noop_apply_runs"] == 5 and last["noop_apply_peak_rss_mb"] > 0
    assert last["peak_rss_vs_delta"] > 0
    # each step's peak RSS is its own child's (imports and that step), never the bench's
    for step in last["steps"]:
        assert set(step["peak_rss_mb"]) == {"tributary", "tributary_cli", "delta", "duckdb"}
    assert all(0 < v < 1_000 for s in last["steps"] for v in s["peak_rss_mb"].values())
    assert set(last["load_average"]) == {"before", "after"} and "load avg" in done.stdout
    assert "trib/delta" in done.stdout
