"""Crash points for fault-injection tests and `tributary bench chaos`.

``TRIBUTARY_CRASH_AT=<point>`` makes the process SIGKILL itself when it reaches that point (no
cleanup, no finally blocks: what a crashed or OOM-killed worker looks like). Unset, a crash point
costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after_lease",  # lease taken, nothing else done
    "after_run_started",  # processing_runs row written
    "before_commit_complete",  # data files and inflight written, completed instant not yet
    "after_hudi_commit",  # Hudi commit complete, DB knows nothing
    "while_marking",  # inside the transaction that marks files processed
    "after_marking",  # DB updated, lease not released
)


def crash_point(name: str) -> None:
    if os.environ.get("TRIBUTARY_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
