"""Archival: move old completed instants out of the active timeline, in Hudi's own archive format.

Which instants follow ``HoodieTimelineArchiver`` (Hudi 0.15 and 1.0): cleans and rollbacks, per
action, down to ``min_instants`` once more than ``max_instants``; commits, once more than
``max_instants``, down to ``min_instants`` but never at or after the oldest pending write, the
earliest commit the cleaner retains, or the oldest replacecommit whose replaced file groups the
last clean has not deleted yet (without its metadata every reader would see those rows again).

Where: version 6 appends a block of ``HoodieArchivedMetaEntry`` records to a Hudi log file
``.hoodie/archived/.commits_.archive.<n>_1-0-1``; version 8 writes an LSM timeline layer-0
Parquet file of ``HoodieLSMTimelineInstant`` rows in ``.hoodie/timeline/history`` with a new
manifest. Spark's archived-timeline readers (``show_archived_commits``, incremental queries
reaching archived instants) and Spark's own archiver (which appends to or compacts these files)
read both.
"""

from __future__ import annotations

import json
import logging

from tributary.hudi import avro
from tributary.hudi.timeline import COMMIT_ACTIONS, COMPLETED, Instant, Timeline

logger = logging.getLogger(__name__)

SERVICE_ACTIONS = ("clean", "rollback")


def instants_to_archive(timeline: Timeline, min_instants: int, max_instants: int, retain_commits: int) -> list[Instant]:
    """Completed instants Hudi's archiver would archive now, oldest first."""
    done = [i for i in timeline.instants if i.is_completed]
    out: list[Instant] = []
    for action in SERVICE_ACTIONS:
        of_action = [i for i in done if i.action == action]
        if len(of_action) > max_instants:
            out.extend(of_action[: len(of_action) - min_instants])
    commits = timeline.completed_commits()
    if len(commits) > max_instants:
        bound = _commit_bound(timeline, commits, retain_commits)
        eligible = [c for c in commits if bound is None or c.timestamp < bound]
        out.extend(eligible[: len(commits) - min_instants])
    return sorted(out)


def _commit_bound(timeline: Timeline, commits: list[Instant], retain_commits: int) -> str | None:
    """The time no archived commit may reach (None: no bound)."""
    bounds = [commits[-retain_commits].timestamp]  # the cleaner's earliest retained commit
    pending = [p for p in timeline.pending() if p.action in (*COMMIT_ACTIONS, "deltacommit")]
    if pending:
        oldest = pending[0].timestamp
        before = [c.timestamp for c in commits if c.timestamp < oldest]
        bounds.append(before[-1] if before else oldest)
    replaces = [c for c in commits if c.action == "replacecommit"]
    if replaces:
        cleaned_before = _last_clean_retains_from(timeline)
        kept = [r.timestamp for r in replaces if cleaned_before is None or r.timestamp >= cleaned_before]
        if kept:
            bounds.append(kept[0])
    return min(bounds)


def _last_clean_retains_from(timeline: Timeline) -> str | None:
    """``earliestInstantToRetain`` of the last completed clean's plan (None without a clean)."""
    cleans = [i for i in timeline.instants if i.action == "clean" and i.is_completed]
    if not cleans:
        return None
    requested = [i for i in timeline.files_of(cleans[-1].timestamp) if i.action == "clean" and not i.is_completed]
    for inst in requested:
        data = timeline.storage.read_bytes(f"{timeline.dir}/{inst.file_name}")
        if data[:4] == avro.MAGIC:
            plan = avro.read_container(data)[1][0]
            earliest = plan.get("earliestInstantToRetain") or {}
            if earliest.get("timestamp"):
                return str(earliest["timestamp"])
    # an old clean without a plan: its metadata names the same instant
    meta = timeline.read_metadata(cleans[-1])
    return str(meta.get("earliestCommitToRetain") or cleans[-1].timestamp)


def archive(timeline: Timeline, min_instants: int, max_instants: int, retain_commits: int) -> list[str]:
    """Archive what Hudi's rule allows; returns the archived instant times."""
    victims = instants_to_archive(timeline, min_instants, max_instants, retain_commits)
    if not victims:
        return []
    from tributary.hudi import archive_format  # its Avro schemas load only when archiving

    if timeline.version == 6:
        archive_format.append_log_block(timeline, victims)
    else:
        archive_format.write_lsm_layer(timeline, victims)
    storage = timeline.storage
    files = [f for v in victims for f in timeline.files_of(v.timestamp) if f.action == v.action]
    # as Hudi: pending state files first, then completed ones oldest first (no holes)
    for f in [f for f in files if f.state != COMPLETED] + sorted(f for f in files if f.state == COMPLETED):
        storage.delete(f"{timeline.dir}/{f.file_name}")
    timeline.reload()
    logger.info(
        "archived %d instant(s) of %s: %s", len(victims), storage.uri, json.dumps([v.timestamp for v in victims])
    )
    return [v.timestamp for v in victims]
