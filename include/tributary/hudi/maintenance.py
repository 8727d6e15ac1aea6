"""Table services run by the writer: rollback of failed writes, cleaning, archiving."""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from tributary.hudi import avro, avro_schemas, markers
from tributary.hudi.file_index import FileIndex
from tributary.hudi.timeline import COMMIT_ACTIONS, COMPLETED, Instant, Timeline
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
        _rollback(storage, timeline, inst)
        rolled.append(inst.timestamp)
    return rolled


def _files_of_pending(storage: Storage, inst: Instant) -> list[str]:
    """Data files of a pending write: its markers, or (written before markers) a table scan."""
    named = markers.data_files(storage, inst.timestamp)
    if named:
        return named
    found = []
    for entry in storage.list_files("", recursive=True):
        if entry.path.startswith(".hoodie/"):
            continue
        name = entry.path.rsplit("/", 1)[-1]
        if name.endswith(f"_{inst.timestamp}.parquet") or (
            f"_{inst.timestamp}." in name and name.startswith(".") and ".log." in name
        ):
            found.append(entry.path)
    return found


def _rollback(storage: Storage, timeline: Timeline, inst: Instant) -> None:
    """Hudi's rollback of one pending write: plan (requested), inflight, delete, metadata."""
    start = time.monotonic()
    files = _files_of_pending(storage, inst)
    by_part: dict[str, list[str]] = defaultdict(list)
    for path in files:
        by_part[path.rpartition("/")[0]].append(path)
    rb_time = timeline.new_time()
    requests: list[dict[str, object]] = [
        {
            "partitionPath": part,
            "fileId": None,
            "latestBaseInstant": None,
            "filesToBeDeleted": [java_uri(storage, p) for p in paths],
            "logBlocksToBeDeleted": {},
        }
        for part, paths in sorted(by_part.items())
    ]
    plan = {
        "instantToRollback": {"commitTime": inst.timestamp, "action": inst.action},
        "RollbackRequests": requests,
        "version": 1,
    }
    timeline.write_requested(rb_time, "rollback", avro.write_container(avro_schemas.ROLLBACK_PLAN, [plan]))
    timeline.write_inflight(rb_time, "rollback", b"")
    deleted: dict[str, list[str]] = defaultdict(list)
    for part, paths in by_part.items():
        for path in paths:
            if storage.is_file(path):
                storage.delete(path)
                deleted[part].append(path.rsplit("/", 1)[-1])
    meta = {
        "startRollbackTime": rb_time,
        "timeTakenInMillis": int((time.monotonic() - start) * 1000),
        "totalFilesDeleted": sum(len(v) for v in deleted.values()),
        "commitsRollback": [inst.timestamp],
        "partitionMetadata": {
            p: {"partitionPath": p, "successDeleteFiles": names, "failedDeleteFiles": []}
            for p, names in deleted.items()
        },
        "version": 1,
        "instantsRollback": [{"commitTime": inst.timestamp, "action": inst.action}],
    }
    timeline.delete_instant_files(inst.timestamp)
    timeline.write_completed(rb_time, "rollback", avro.write_container(avro_schemas.ROLLBACK_METADATA, [meta]))
    markers.delete(storage, inst.timestamp)
    logger.warning(
        "rolled back pending %s %s of %s: deleted %d file(s)",
        inst.action,
        inst.timestamp,
        storage.uri,
        meta["totalFilesDeleted"],
    )


def _has_completed(timeline: Timeline, inst: Instant) -> bool:
    return any(i.timestamp == inst.timestamp and i.is_completed for i in timeline.instants)


def clean(storage: Storage, timeline: Timeline, retain_commits: int) -> list[str]:
    """Delete file slices no query of the last ``retain_commits`` commits needs (KEEP_LATEST_COMMITS).

    For each file group, slices at or after the earliest retained commit stay, plus the newest
    slice before it; replaced file groups go entirely once their replacecommit is outside the
    window. Writes a clean instant as Hudi does (``HoodieCleanerPlan`` in requested and inflight,
    ``HoodieCleanMetadata`` completed) when anything is deleted. Returns deleted paths.
    """
    commits = timeline.completed_commits()
    if len(commits) <= retain_commits:
        return []
    earliest = commits[-retain_commits]
    to_delete = _slices_to_clean(FileIndex(storage, timeline), earliest.timestamp)
    if not to_delete:
        return []
    start = time.monotonic()
    by_part: dict[str, list[str]] = defaultdict(list)
    for path in to_delete:
        part, _, name = path.rpartition("/")
        by_part[part].append(name)
    clean_time = timeline.new_time()
    plan = avro.write_container(avro_schemas.CLEANER_PLAN, [_cleaner_plan(storage, earliest, commits[-1], by_part)])
    timeline.write_requested(clean_time, "clean", plan)
    timeline.write_inflight(clean_time, "clean", plan)
    for path in to_delete:
        storage.delete(path)
    meta = {
        "startCleanTime": clean_time,
        "timeTakenInMillis": int((time.monotonic() - start) * 1000),
        "totalFilesDeleted": len(to_delete),
        "earliestCommitToRetain": earliest.timestamp,
        "lastCompletedCommitTimestamp": commits[-1].timestamp,
        "partitionMetadata": {
            p: {
                "partitionPath": p,
                "policy": CLEAN_POLICY,
                "deletePathPatterns": names,
                "successDeleteFiles": names,
                "failedDeleteFiles": [],
                "isPartitionDeleted": False,
            }
            for p, names in by_part.items()
        },
        "version": CLEAN_VERSION,
        "bootstrapPartitionMetadata": {},
        "extraMetadata": {},
    }
    timeline.write_completed(clean_time, "clean", avro.write_container(avro_schemas.CLEAN_METADATA, [meta]))
    logger.info("cleaned %d file(s) of %s (retaining commits from %s)", len(to_delete), storage.uri, earliest.timestamp)
    return to_delete


CLEAN_POLICY = "KEEP_LATEST_COMMITS"
CLEAN_VERSION = 2
"""Version of the cleaner plan and clean metadata Hudi 0.15 and 1.0 write."""


def _slices_to_clean(index: FileIndex, earliest: str) -> list[str]:
    to_delete: list[str] = []
    for key, group in index.groups.items():
        replaced_by = index.replaced.get(key)
        if replaced_by is not None and replaced_by < earliest:
            to_delete.extend(s.path for s in group.slices)
            continue
        older = [s for s in group.slices if s.instant < earliest]
        to_delete.extend(s.path for s in older[:-1])
    return to_delete


def _cleaner_plan(storage: Storage, earliest: Instant, last: Instant, by_part: dict[str, list[str]]) -> dict:
    """The ``HoodieCleanerPlan`` Hudi's cleaner writes (and its archiver reads back)."""
    return {
        "earliestInstantToRetain": {"timestamp": earliest.timestamp, "action": earliest.action, "state": COMPLETED},
        "lastCompletedCommitTimestamp": last.timestamp,
        "policy": CLEAN_POLICY,
        "filesToBeDeletedPerPartition": {},
        "version": CLEAN_VERSION,
        "filePathsToBeDeletedPerPartition": {
            part: [
                {"filePath": java_uri(storage, f"{part}/{n}" if part else n), "isBootstrapBaseFile": False}
                for n in names
            ]
            for part, names in by_part.items()
        },
        "partitionsToBeDeleted": [],
        "extraMetadata": {},
    }


def java_uri(storage: Storage, rel: str) -> str:
    """``rel`` as Hudi's Java code names files: ``file:/abs/path`` locally, ``s3://…`` on S3."""
    return f"file:{storage.full_path(rel)}" if storage.is_local else storage.full_uri(rel)
