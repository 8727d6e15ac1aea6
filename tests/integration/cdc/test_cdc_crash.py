"""Crash injection: SIGKILL `apply` at random points of a commit, over and over; after the next
clean run the table equals the oracle and every file was applied exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cdc_factory import DmsFolder, Oracle, completed_commits, hudi_snapshot, snapshot_rows
from tributary.cdc import CdcOptions, apply_pending
from tributary.cdc.checkpoint import Checkpoint, applied_files

COLS = ["id", "ts", "region", "val"]


def _opts(mode: str) -> CdcOptions:
    return CdcOptions("crash", ("id",), "ts", partition_fields=("region",), mode=mode)


# Runs apply_pending in a child process. kill point "hook": SIGKILL itself from the writer's
# before_complete callback (data files written, commit not completed); "timer": the parent kills
# it after a random delay; "cli": the real command, killed after a random delay.
DRIVER = """
import os, signal, sys
from tributary.cdc import CdcOptions, apply_pending
opts = CdcOptions("crash", ("id",), "ts", partition_fields=("region",), mode=sys.argv[4])
hook = (lambda: os.kill(os.getpid(), signal.SIGKILL)) if sys.argv[3] == "hook" else None
print("ready", flush=True)
apply_pending(sys.argv[1], sys.argv[2], opts, before_complete=hook)
print("done", flush=True)
from tributary.cli.main import exit_now  # as the command ends: no native finalisers (see run())
exit_now(0)
"""


def _child(src: Path, target: str, point: str, mode: str) -> subprocess.Popen[str]:
    if point == "cli":
        cmd = [
            sys.executable,
            "-c",
            "import sys; print('ready', flush=True); from tributary.cli.main import run; run()",
        ]
        cmd += ["cdc", "apply", "--source", str(src), "--target", target, "--record-key", "id", "--precombine", "ts"]
        cmd += ["--partition-fields", "region", "--table-name", "crash", "--mode", mode]
    else:
        cmd = [sys.executable, "-c", DRIVER, str(src), target, point, mode]
    # a child that aborts on its own (seen rarely under heavy load: SIGABRT, "terminate called
    # without an active exception") dumps every thread's stack into the failure message
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _run_and_kill(src: Path, target: str, point: str, mode: str, window: float, rng: random.Random) -> str:
    proc = _child(src, target, point, mode)
    assert proc.stdout is not None
    proc.stdout.readline()  # "ready": imports done, the apply starts now
    if point != "hook":
        time.sleep(rng.uniform(0, window))
        proc.send_signal(signal.SIGKILL)
    _out, err = proc.communicate(timeout=120)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"child failed ({proc.returncode}): {err}")
    return "completed" if proc.returncode == 0 else "killed"


def _file_rows(rng: random.Random, band: int) -> list[dict]:
    rows = []
    for _ in range(rng.randint(1, 8)):
        rows.append(
            {
                "Op": rng.choice("IIUUD"),
                "id": rng.randint(0, 15),
                "ts": band * 10 + rng.randint(0, 2),  # later files order after earlier ones
                "region": rng.choice(["a", "b"]),
                "val": rng.choice([None, rng.randint(0, 99)]),
            }
        )
    return rows


def _check(src: Path, target: str, mode: str, oracle: Oracle, changes: list[dict], files: list[str]) -> None:
    apply_pending(str(src), target, _opts(mode))  # the clean run
    if mode == "current":
        assert snapshot_rows(target, COLS, ["id"]) == oracle.snapshot(COLS)
    else:  # every change exactly once
        got = hudi_snapshot(target, ["Op", *COLS]).to_pylist()
        assert sorted(got, key=repr) == sorted(changes, key=repr)
    commits = completed_commits(target)  # the active timeline (older commits get archived)
    applied = [f for c in commits for f in applied_files(c["extra"])]
    assert len(applied) == len(set(applied)) and applied == files[len(files) - len(applied) :]
    # files_total counts every file every commit applied: a file applied twice would show here
    assert Checkpoint.from_metadata(commits[-1]["extra"]).files_total == len(files)


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "trials"), [("current", 50), ("historical", 15)])
def test_sigkill_at_random_points_never_loses_or_doubles_a_file(mode: str, trials: int, tmp_path: Path) -> None:
    rng = random.Random(f"20261123-{mode}")
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "crash")
    oracle = Oracle(("id",), "ts")
    files: list[str] = []
    changes: list[dict] = []

    def add_file() -> None:
        # every file gets its own precombine band, so grouping files into commits (which the
        # crashes vary) cannot change the winners
        rows = _file_rows(rng, len(files))
        files.append(dms.cdc(rows).relative_to(dms.root).as_posix())
        oracle.apply_run([rows])
        changes.extend(rows)

    # calibrate the kill window on one uninterrupted child run (not an assertion)
    add_file()
    proc = _child(dms.root, target, "none", mode)
    assert proc.stdout is not None
    proc.stdout.readline()
    started = time.monotonic()
    assert proc.wait(timeout=120) == 0
    window = max(0.05, (time.monotonic() - started) * 1.3)
    _check(dms.root, target, mode, oracle, changes, files)

    outcomes: dict[str, int] = {}
    for trial in range(1, trials + 1):
        for _ in range(rng.randint(0, 2)):
            add_file()
        point = rng.choice(["timer", "timer", "hook", "cli"])
        outcome = _run_and_kill(dms.root, target, point, mode, window, rng)
        if outcome == "killed" and _pending_instants(target):
            outcome = "killed-mid-commit"
        outcomes[f"{point}:{outcome}"] = outcomes.get(f"{point}:{outcome}", 0) + 1
        if rng.random() < 0.5 or trial == trials:  # sometimes crash again before a clean run
            _check(dms.root, target, mode, oracle, changes, files)
    print(f"crash mode={mode} trials={trials} outcomes={outcomes} files={len(files)}")
    assert sum(outcomes.values()) == trials
    # the kills really land inside commits (pending instants left for the next run to roll back)
    assert sum(n for k, n in outcomes.items() if k.endswith("mid-commit")) >= trials // 6


def _pending_instants(target: str) -> int:
    from tributary.hudi import HudiTable

    if not HudiTable.exists(target):
        return 0
    table = HudiTable.open(target)
    table.timeline.reload()
    return len(table.timeline.pending())
