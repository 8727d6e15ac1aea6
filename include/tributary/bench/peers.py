"""``tributary bench peers``: Tributary against delta-rs on the same DMS files, side by side.

The workload (:mod:`tributary.bench.peers_workload`) is written once. Each repeat runs the steps
in order, and every step on every system before the next step, each in its own child process
(:func:`~tributary.bench.peers_contenders.spawn_step`), in an order of the systems rotated per
repeat, so load from other work falls on all of them alike. The figure per step is the median
over repeats of ``tributary / delta`` taken within each repeat. Every system's table is checked
after every step against the oracle's digest; a wrong result makes the bench fail (exit 1) after
it printed what it measured. Each repeat ends with the no-op ``tributary cdc apply`` (every file
applied), timed as a user's scheduler runs it.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from tributary.bench.peers_contenders import System, spawn_step, time_noop
from tributary.bench.peers_workload import write_files

logger = logging.getLogger(__name__)

SYSTEMS = (System.TRIBUTARY, System.TRIBUTARY_CLI, System.DELTA, System.DUCKDB)
NOOP_RUNS = 5
"""No-op ``cdc apply`` runs per repeat (their median is the repeat's figure)."""


def _rotated(repeat: int) -> list[System]:
    k = repeat % len(SYSTEMS)
    return [*SYSTEMS[k:], *SYSTEMS[:k]]


def run(
    rows: int = 1_000_000,
    repeats: int = 5,
    partitioned: bool = False,
    workdir: Path | None = None,
    sizing: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Measure every system ``repeats`` times; returns the figures (see :func:`summarise`).
    ``sizing``: Tributary's file sizing options (CdcOptions fields), Hudi's defaults if empty."""
    sizing = dict(sizing or {})
    tmp = Path(tempfile.mkdtemp(prefix="tributary-peers-", dir=workdir))
    try:
        staging = tmp / "staging"
        steps, expected = write_files(rows, staging)
        runs: list[dict[str, dict[str, Any]]] = []
        noop: list[dict[str, float]] = []
        load_before = os.getloadavg()
        for repeat in range(repeats):
            roots = {s: tmp / f"{s.value}-{repeat}" for s in SYSTEMS}
            runs.append(_repeat(repeat, len(steps), staging, roots, rows, partitioned, sizing))
            if "error" not in runs[-1][System.TRIBUTARY_CLI.value]:
                noop.append(time_noop(roots[System.TRIBUTARY_CLI], partitioned, NOOP_RUNS, sizing))
            for root in roots.values():
                shutil.rmtree(root, ignore_errors=True)
        figures = summarise([s.name for s in steps], expected, runs)
        figures.update(rows=rows, repeats=repeats, partitioned=partitioned, columns=14, sizing=sizing)
        figures["noop_apply_seconds"] = _median([n["seconds"] for n in noop])
        figures["noop_apply_peak_rss_mb"] = _median([n["peak_rss_mb"] for n in noop])
        figures["noop_apply_runs"] = NOOP_RUNS * len(noop)
        figures["load_average"] = {"before": list(load_before), "after": list(os.getloadavg())}
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _repeat(
    repeat: int,
    steps: int,
    staging: Path,
    roots: dict[System, Path],
    rows: int,
    partitioned: bool,
    sizing: dict[str, int],
) -> dict[str, dict[str, Any]]:
    """One repeat: each step on every system (in this repeat's order) before the next step. A
    system that failed a step is not run further (its later steps cannot be checked)."""
    this: dict[str, dict[str, Any]] = {s.value: {"system": s.value, "steps": []} for s in SYSTEMS}
    for index in range(steps):
        for system in _rotated(repeat):
            result = this[system.value]
            if "error" in result:
                continue
            logger.info("repeat %d step %d: %s", repeat + 1, index + 1, system.value)
            got = spawn_step(system, index, staging, roots[system], rows, partitioned, sizing)
            if "error" in got:
                result["error"] = f"step {index + 1}: {got['error']}"
            else:
                result["steps"].append(got)
    return this


def _check(result: dict[str, Any], index: int, want: dict[str, Any]) -> str | None:
    """None when the system's table after step ``index`` matches the oracle, else what differs."""
    steps = result.get("steps", [])
    if index >= len(steps):
        return f"failed: {result.get('error', 'no result')[-300:]}"
    got = steps[index]["digest"]
    if got == want:
        return None
    diffs = [k for k in ("rows", "key_sum", "row_hash", "column_hashes", "missing_column") if got.get(k) != want.get(k)]
    return f"differs in {', '.join(diffs)} (rows {got.get('rows')} vs {want['rows']})"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _step_figures(
    name: str, index: int, want: dict[str, Any], runs: list[dict[str, dict[str, Any]]], failures: list[str]
) -> dict[str, Any]:
    """One step over every repeat; appends what was wrong to ``failures``. A ratio is taken only
    within a repeat where both tables are right."""
    secs: dict[str, list[float]] = {s.value: [] for s in SYSTEMS}
    rss: dict[str, float] = {}
    ratios: dict[str, list[float]] = {s.value: [] for s in SYSTEMS if s is not System.DELTA}
    per_repeat: list[dict[str, float]] = []
    wrong = len(failures)
    for repeat, this in enumerate(runs):
        good: dict[str, float] = {}
        per_repeat.append(good)
        for system, result in this.items():
            problem = _check(result, index, want)
            if problem:
                failures.append(f"repeat {repeat + 1} step '{name}' {system}: {problem}")
                continue
            step = result["steps"][index]
            good[system] = step["seconds"]
            secs[system].append(step["seconds"])
            rss[system] = max(rss.get(system, 0.0), step["peak_rss_mb"])
        for system in ratios:
            if system in good and System.DELTA.value in good:
                ratios[system].append(good[system] / good[System.DELTA.value])
    return {
        "step": name,
        "seconds": {s: _median(v) for s, v in secs.items()},
        "ratio_vs_delta": _median(ratios[System.TRIBUTARY.value]),
        "ratios_vs_delta": ratios[System.TRIBUTARY.value],
        "seconds_per_repeat": per_repeat,
        "cli_ratio_vs_delta": _median(ratios[System.TRIBUTARY_CLI.value]),
        "floor_ratio_vs_delta": _median(ratios[System.DUCKDB.value]),
        "correct": len(failures) == wrong,
        "peak_rss_mb": rss,
    }


def summarise(
    names: list[str], expected: list[dict[str, Any]], runs: list[dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Per step: median seconds per system, the median of per-repeat ratios, correctness and peak
    RSS (each step's own child process); overall: every check passed, the peak RSS of each system
    over the workload."""
    failures: list[str] = []
    steps = [_step_figures(name, i, expected[i], runs, failures) for i, name in enumerate(names)]
    peak = {s.value: max((st["peak_rss_mb"].get(s.value, 0.0) for st in steps), default=0.0) for s in SYSTEMS}
    return {
        "steps": steps,
        "correct": not failures,
        "failures": failures,
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
    rows.append(["peak RSS MB", f"{rss['tributary']:.0f}", f"{rss['tributary_cli']:.0f}", f"{rss['delta']:.0f}",
                 f"{rss['duckdb']:.0f}", _fmt(figures["peak_rss_vs_delta"], "x"), "", "", ""])  # fmt: skip
    noop = _fmt(figures["noop_apply_seconds"], " s")
    rows.append([f"no-op cdc apply (median of {figures['noop_apply_runs']})", "", noop, "", "", "", "", "", ""])
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
