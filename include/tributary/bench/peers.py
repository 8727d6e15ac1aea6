"""``tributary bench peers``: Tributary against delta-rs on the same DMS files, side by side.

The workload (:mod:`tributary.bench.peers_workload`) is written once; each repeat runs every
system in its own child process, in an order rotated per repeat, so load from other work falls on
all of them alike. The figure per step is the median over repeats of ``tributary / delta`` taken
within each repeat. Every system's table is checked after every step against the oracle's digest;
a wrong result makes the bench fail (exit 1) after it printed what it measured.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from tributary.bench.peers_contenders import System, spawn
from tributary.bench.peers_workload import write_files

logger = logging.getLogger(__name__)

SYSTEMS = (System.TRIBUTARY, System.TRIBUTARY_CLI, System.DELTA, System.DUCKDB)


def _rotated(repeat: int) -> list[System]:
    k = repeat % len(SYSTEMS)
    return [*SYSTEMS[k:], *SYSTEMS[:k]]


def run(
    rows: int = 1_000_000, repeats: int = 5, partitioned: bool = False, workdir: Path | None = None
) -> dict[str, Any]:
    """Measure every system ``repeats`` times; returns the figures (see :func:`summarise`)."""
    tmp = Path(tempfile.mkdtemp(prefix="tributary-peers-", dir=workdir))
    try:
        staging = tmp / "staging"
        steps, expected = write_files(rows, staging)
        runs: list[dict[str, dict[str, Any]]] = []
        load_before = os.getloadavg()
        for repeat in range(repeats):
            this: dict[str, dict[str, Any]] = {}
            for system in _rotated(repeat):
                logger.info("repeat %d/%d: %s", repeat + 1, repeats, system.value)
                this[system.value] = spawn(system, staging, tmp / f"{system.value}-{repeat}", rows, partitioned)
            runs.append(this)
        figures = summarise([s.name for s in steps], expected, runs)
        figures.update(rows=rows, repeats=repeats, partitioned=partitioned, columns=14)
        figures["load_average"] = {"before": list(load_before), "after": list(os.getloadavg())}
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check(result: dict[str, Any], index: int, want: dict[str, Any]) -> str | None:
    """None when the system's table after step ``index`` matches the oracle, else what differs."""
    if "error" in result:
        return f"failed: {result['error'][-300:]}"
    got = result["steps"][index]["digest"]
    if got == want:
        return None
    diffs = [k for k in ("rows", "key_sum", "column_hashes", "missing_column") if got.get(k) != want.get(k)]
    return f"differs in {', '.join(diffs)} (rows {got.get('rows')} vs {want['rows']})"


def summarise(
    names: list[str], expected: list[dict[str, Any]], runs: list[dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Per step: median seconds per system, the median of per-repeat ratios, correctness, peak RSS."""
    out_steps: list[dict[str, Any]] = []
    load_rss: dict[str, float] = {}
    failures: list[str] = []
    for i, name in enumerate(names):
        secs: dict[str, list[float]] = {s.value: [] for s in SYSTEMS}
        rss: dict[str, float] = {}
        ratios: dict[str, list[float]] = {"tributary": [], "tributary_cli": [], "duckdb": []}
        for repeat, this in enumerate(runs):
            for system, result in this.items():
                problem = _check(result, i, expected[i])
                if problem:
                    failures.append(f"repeat {repeat + 1} step '{name}' {system}: {problem}")
                    continue
                step = result["steps"][i]
                secs[system].append(step["seconds"])
                rss[system] = max(rss.get(system, 0.0), step["peak_rss_mb"])
            delta = this.get("delta", {}).get("steps")
            for system in ratios:
                mine = this.get(system, {}).get("steps")
                if (
                    delta
                    and mine
                    and not _check(this[system], i, expected[i])
                    and not _check(this["delta"], i, expected[i])
                ):
                    ratios[system].append(mine[i]["seconds"] / delta[i]["seconds"])
        out_steps.append(
            {
                "step": name,
                "seconds": {s: statistics.median(v) if v else None for s, v in secs.items()},
                "ratio_vs_delta": statistics.median(ratios["tributary"]) if ratios["tributary"] else None,
                "cli_ratio_vs_delta": statistics.median(ratios["tributary_cli"]) if ratios["tributary_cli"] else None,
                "floor_ratio_vs_delta": statistics.median(ratios["duckdb"]) if ratios["duckdb"] else None,
                "correct": not any(f"step '{name}'" in f for f in failures),
                "peak_rss_mb": rss,
            }
        )
        if i == 0:
            load_rss = rss
    noop = [r["tributary_cli"]["noop_seconds"] for r in runs if "noop_seconds" in r.get("tributary_cli", {})]
    # peak RSS at the load: later steps' figures also hold the (untimed) read-back of the checks
    peak = {s.value: load_rss.get(s.value, 0.0) for s in SYSTEMS}
    return {
        "steps": out_steps,
        "correct": not failures,
        "failures": failures,
        "noop_cli_seconds": statistics.median(noop) if noop else None,
        "peak_rss_mb": peak,
        "peak_rss_vs_delta": peak["tributary"] / peak["delta"] if peak["delta"] else None,
    }


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


def report(figures: dict[str, Any], results_dir: Path | None = None) -> Path:
    """The readable table, then the figures as one JSON line; writes ``peers.json``."""
    from tributary.bench.report import emit

    rows = []
    for st in figures["steps"]:
        s = st["seconds"]
        rows.append(
            [
                st["step"],
                _fmt(s["tributary"]),
                _fmt(s["tributary_cli"]),
                _fmt(s["delta"]),
                _fmt(s["duckdb"]),
                _fmt(st["ratio_vs_delta"], "x"),
                _fmt(st["cli_ratio_vs_delta"], "x"),
                _fmt(st["floor_ratio_vs_delta"], "x"),
                "yes" if st["correct"] else "NO",
            ]
        )
    rss = figures["peak_rss_mb"]
    rows.append(["load peak RSS MB", f"{rss['tributary']:.0f}", f"{rss['tributary_cli']:.0f}", f"{rss['delta']:.0f}",
                 f"{rss['duckdb']:.0f}", _fmt(figures["peak_rss_vs_delta"], "x"), "", "", ""])  # fmt: skip
    rows.append(["no-op cli", "", _fmt(figures["noop_cli_seconds"], " s"), "", "", "", "", "", ""])
    part = ", partitioned" if figures["partitioned"] else ""
    title = (
        f"Tributary vs delta-rs: {figures['rows']:,} rows x 14 columns{part}, median of {figures['repeats']} "
        f"repeats (seconds in-process; load avg {figures['load_average']['before'][0]:.1f} -> "
        f"{figures['load_average']['after'][0]:.1f})"
    )
    cols = ["step", "trib s", "cli s", "delta s", "floor s", "trib/delta", "cli/delta", "floor/delta", "ok"]
    for failure in figures["failures"]:
        logger.error("wrong result: %s", failure)
    return emit("peers", title, cols, rows, figures, results_dir)
