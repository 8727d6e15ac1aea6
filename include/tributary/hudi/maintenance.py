"""Table services run by the writer: rollback of failed writes, cleaning, archiving."""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from tributary.hudi import avro, avro_schemas
from tributary.hudi.file_index import FileIndex
from tributary.hudi.timeline import COMMIT_ACTIONS, Instant, Timeline
from tributary.storage import Storage

logger = logging.getLogger(__name__)


def rollback_pending(storage: Storage, timeline: Timeline) -> list[str]:
    """Roll back every pending instant: delete its files, write a rollback instant.

    Pending rollbacks and cleans are finished by removing their pending files (their work is
    idempotent and redone here). Returns the rolled-back instant times.
    """
    rolled: list[str] = []
    for inst in timeline.pending():
        if inst.action in ("rollback", "clean") and not _has_completed(timeline, inst):
            timeline.delete_instant_files(inst.timestamp)
    for inst in timeline.pending():
        if inst.action not in (*COMMIT_ACTIONS, "deltacommit"):
            continue
        start = time.monotonic()
        deleted: dict[str, list[str]] = defaultdict(list)
        for entry in storage.list_files("", recursive=True):
            if entry.path.startswith(".hoodie/"):
                continue
            name = entry.path.rsplit("/", 1)[-1]
            if name.endswith(f"_{inst.timestamp}.parquet") or (
                f"_{inst.timestamp}." in name and name.startswith(".") and ".log." in name
            ):
                storage.delete(entry.path)
                part = entry.path.rpartition("/")[0]
                deleted[part].append(name)
        rb_time = timeline.new_time()
        plan = {
            "instantToRollback": {"commitTime": inst.timestamp, "action": inst.action},
            "RollbackRequests": [],
            "version": 1,
        }
        timeline.write_requested(rb_time, "rollback", avro.write_container(avro_schemas.ROLLBACK_PLAN, [plan]))
        timeline.write_inflight(rb_time, "rollback", b"")
        meta = {
            "startRollbackTime": rb_time,
            "timeTakenInMillis": int((time.monotonic() - start) * 1000),
            "totalFilesDeleted": sum(len(v) for v in deleted.values()),
            "commitsRollback": [inst.timestamp],
            "partitionMetadata": {
                p: {"partitionPath": p, "successDeleteFiles": files, "failedDeleteFiles": []}
                for p, files in deleted.items()
            },
            "version": 1,
            "instantsRollback": [{"commitTime": inst.timestamp, "action": inst.action}],
        }
        timeline.delete_instant_files(inst.timestamp)
        timeline.write_completed(rb_time, "rollback", avro.write_container(avro_schemas.ROLLBACK_METADATA, [meta]))
        logger.warning(
            "rolled back pending %s %s of %s: deleted %d file(s)",
            inst.action,
            inst.timestamp,
            storage.uri,
            meta["totalFilesDeleted"],
        )
        rolled.append(inst.timestamp)
    return rolled


def _has_completed(timeline: Timeline, inst: Instant) -> bool:
    return any(i.timestamp == inst.timestamp and i.is_completed for i in timeline.instants)


def clean(storage: Storage, timeline: Timeline, retain_commits: int) -> list[str]:
    """Delete file slices no query of the last ``retain_commits`` commits needs (KEEP_LATEST_COMMITS).

    For each file group, slices at or after the earliest retained commit stay, plus the newest
    slice before it; replaced file groups go entirely once their replacecommit is outside the
    window. Writes a clean instant when anything was deleted. Returns deleted paths.
    """
    commits = timeline.completed_commits()
    if len(commits) <= retain_commits:
        return []
    earliest = commits[-retain_commits].timestamp
    index = FileIndex(storage, timeline)
    to_delete: list[str] = []
    for key, group in index.groups.items():
        replaced_by = index.replaced.get(key)
        if replaced_by is not None and replaced_by < earliest:
            to_delete.extend(s.path for s in group.slices)
            continue
        older = [s for s in group.slices if s.instant < earliest]
        to_delete.extend(s.path for s in older[:-1])
    if not to_delete:
        return []
    start = time.monotonic()
    clean_time = timeline.new_time()
    timeline.write_requested(clean_time, "clean", b"")
    timeline.write_inflight(clean_time, "clean", b"")
    by_part: dict[str, list[str]] = defaultdict(list)
    for path in to_delete:
        storage.delete(path)
        part, _, name = path.rpartition("/")
        by_part[part].append(name)
    meta = {
        "startCleanTime": clean_time,
        "timeTakenInMillis": int((time.monotonic() - start) * 1000),
        "totalFilesDeleted": len(to_delete),
        "earliestCommitToRetain": earliest,
        "lastCompletedCommitTimestamp": commits[-1].timestamp,
        "partitionMetadata": {
            p: {
                "partitionPath": p,
                "policy": "KEEP_LATEST_COMMITS",
                "deletePathPatterns": names,
                "successDeleteFiles": names,
                "failedDeleteFiles": [],
                "isPartitionDeleted": False,
            }
            for p, names in by_part.items()
        },
        "version": 1,
    }
    timeline.write_completed(clean_time, "clean", avro.write_container(avro_schemas.CLEAN_METADATA, [meta]))
    logger.info("cleaned %d file(s) of %s (retaining commits from %s)", len(to_delete), storage.uri, earliest)
    return to_delete


def archive(timeline: Timeline, min_instants: int, max_instants: int, retain_commits: int) -> list[str]:
    """Move the oldest completed instants out of the active timeline when it holds more than
    ``max_instants``, down to ``min_instants``; never the last ``retain_commits`` commits or
    anything at/after the earliest pending instant. Returns the archived instant times.
    """
    completed = sorted({i.timestamp: i for i in timeline.instants if i.is_completed}.values())
    if len(completed) <= max_instants:
        return []
    commits = timeline.completed_commits()
    limit = commits[-retain_commits].timestamp if len(commits) >= retain_commits else None
    pending = timeline.pending()
    if pending:
        limit = min(limit, pending[0].timestamp) if limit else pending[0].timestamp
    candidates = [i for i in completed if limit is None or i.timestamp < limit]
    n = len(completed) - min_instants
    victims = candidates[:n]
    if not victims:
        return []
    storage = timeline.storage
    for inst in victims:
        for f in timeline.files_of(inst.timestamp):
            src = f"{timeline.dir}/{f.file_name}"
            storage.write_bytes(f"{timeline.archive_dir}/{f.file_name}", storage.read_bytes(src))
    # delete completed files last so a crash leaves the instant readable in the active timeline
    for inst in victims:
        files = sorted(timeline.files_of(inst.timestamp), key=lambda f: f.is_completed)
        for f in files:
            storage.delete(f"{timeline.dir}/{f.file_name}")
    timeline.reload()
    logger.info("archived %d instant(s) of %s", len(victims), storage.uri)
    return [v.timestamp for v in victims]
