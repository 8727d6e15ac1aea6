"""Peak RSS of a command, measured so that no other process's memory counts.

Linux carries a process's peak RSS across ``fork`` and ``execve`` (``ru_maxrss`` of a child is
at least what its parent held when it forked), so a command started by the bench, which holds
the workload, would report the bench's memory as its own. This module, run as a small process of
its own (``python -m tributary.bench.peers_rss COMMAND...``), forks and execs the command from a
process that imported nothing heavy, waits for it and prints one JSON line:
``{"returncode": N, "seconds": S, "peak_rss_mb": X}`` (wall time from fork to exit); the
command's own output goes first, where this process's goes.
"""

from __future__ import annotations

import json
import os
import sys
import time


def vm_hwm_mb() -> float | None:
    """This process's own peak RSS (``VmHWM``: not inherited across exec), None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(command: list[str]) -> dict[str, float | int]:
    """Run ``command`` as a direct child; its exit status, wall seconds and peak RSS in MB."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: become the command (its output is this process's output)
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    return {"returncode": os.waitstatus_to_exitcode(status), "seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:])), flush=True)
