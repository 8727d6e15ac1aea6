"""The stack's process handling on real processes: groups stopped by TERM, a TERM-ignoring group
KILLed, descendants that left the group found by the stack tag, and stale state after a crash."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tributary.stack.processes import STACK_TAG, group_alive, spawn, stop_groups, tagged_pids
from tributary.stack.stack import Proc, StackState, down, status

IGNORE_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
ESCAPE = "import os, subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True); time.sleep(120)"


def _env(tag: str) -> dict[str, str]:
    return {**os.environ, STACK_TAG: tag}


def test_stop_groups_term_then_kill_and_tagged_descendants(tmp_path: Path) -> None:
    tag = "t" + str(os.getpid())
    polite = spawn([sys.executable, "-c", "import time; time.sleep(120)"], _env(tag), tmp_path / "a.log")
    stubborn = spawn([sys.executable, "-c", IGNORE_TERM], _env(tag), tmp_path / "b.log")
    escaper = spawn([sys.executable, "-c", ESCAPE], _env(tag), tmp_path / "c.log")
    time.sleep(1.0)
    assert len(tagged_pids(tag)) == 4  # three plus the child that left its group
    killed = stop_groups([polite, stubborn, escaper], tag, grace=2.0)
    assert killed == [stubborn]
    assert not any(group_alive(g) for g in (polite, stubborn, escaper))
    assert tagged_pids(tag) == []


def test_down_after_a_crash_stops_the_recorded_groups(tmp_path: Path) -> None:
    tag = "crash" + str(os.getpid())
    pid = spawn([sys.executable, "-c", "import time; time.sleep(120)"], _env(tag), tmp_path / "p.log")
    # what a crashed `stack up` leaves behind: the state file naming the running group
    login = tmp_path / "login.json"
    login.write_text("{}")
    StackState(
        tag,
        str(tmp_path),
        "sqlite",
        {"api": 1},
        {"airflow": "http://127.0.0.1:1"},
        {},
        str(login),
        [Proc("moto", pid, pid, "p.log")],
    ).save()
    doc = status(tmp_path)
    assert doc and doc["processes"]["moto"]["alive"] is True and doc["health"] == {}
    assert down(tmp_path, grace=2.0) == ["moto"]
    assert not group_alive(pid) and status(tmp_path) is None
