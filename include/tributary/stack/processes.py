"""Start processes in their own process groups and stop them (TERM, then KILL), also after a crash.

Every process gets ``TRIBUTARY_STACK_ID`` in its environment; children inherit it, so ``stop``
also finds descendants that left the group (Airflow task supervisors) by that tag and nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

STACK_TAG = "TRIBUTARY_STACK_ID"


def spawn(argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path | None = None) -> int:
    """Start ``argv`` in a new session (its own process group); output goes to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )
    return proc.pid


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    _reap()
    return _group_has_live_member(pgid)


def _group_has_live_member(pgid: int) -> bool:
    """True when a non-zombie process is in the group."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _reap() -> None:
    """Collect our own exited children so they do not linger as zombies."""
    with contextlib.suppress(ChildProcessError):
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break


def tagged_pids(stack_id: str) -> list[int]:
    """Processes whose environment carries this stack's tag (descendants of what we started)."""
    needle = f"{STACK_TAG}={stack_id}".encode()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal_pid(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def stop_groups(pgids: Iterable[int], stack_id: str | None = None, grace: float = 15.0) -> list[int]:
    """TERM every group (and tagged stragglers), wait up to ``grace`` s, then KILL what is left.
    Returns the groups that needed a KILL."""
    groups = [g for g in pgids if g > 1]
    for pgid in groups:
        _signal_group(pgid, signal.SIGTERM)
    stragglers = tagged_pids(stack_id) if stack_id else []
    for pid in stragglers:
        _signal_pid(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap()
        if not any(group_alive(g) for g in groups) and not (stack_id and tagged_pids(stack_id)):
            return []
        time.sleep(0.2)
    killed = [g for g in groups if group_alive(g)]
    for pgid in killed:
        log.warning("process group %d did not stop after TERM; sending KILL", pgid)
        _signal_group(pgid, signal.SIGKILL)
    if stack_id:
        for pid in tagged_pids(stack_id):
            _signal_pid(pid, signal.SIGKILL)
    time.sleep(0.2)
    _reap()
    return killed
