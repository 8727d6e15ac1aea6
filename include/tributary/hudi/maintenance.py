"""Cleaning: delete the file slices no query of the retained commits needs (rollback: ``instants``)."""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from tributary.hudi import avro, avro_schemas
from tributary.hudi.file_index import FileIndex
from tributary.hudi.instants import java_uri
from tributary.hudi.timeline import COMPLETED, Instant, Timeline
from tributary.storage import Storage

logger = logging.getLogger(__name__)


def clean(storage: Storage, timeline: Timeline, retain_commits: int, index: FileIndex | None = None) -> list[str]:
    """Delete file slices no query of the last ``retain_commits`` commits needs (KEEP_LATEST_COMMITS).

    For each file group, slices at or after the earliest retained commit stay, plus the newest
    slice before it; replaced file groups go entirely once their replacecommit is outside the
    window. Writes a clean instant as Hudi does (``HoodieCleanerPlan`` in requested and inflight,
    ``HoodieCleanMetadata`` completed) when anything is deleted. Returns deleted paths.
    ``index``: the table's file slices at the timeline's state (listed now when not given).
    """
    commits = timeline.completed_commits()
    if len(commits) <= retain_commits:
        return []
    earliest = commits[-retain_commits]
    to_delete = _slices_to_clean(index or FileIndex(storage, timeline), earliest.timestamp)
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
