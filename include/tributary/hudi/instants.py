"""The lifecycle of a write instant: requested → inflight → completed, markers, and rollback.

A write begins with its requested and inflight instant files, so a crash from then on leaves a
pending instant. Each data file gets its marker before it is written (see :mod:`markers`). The
completed instant file is the last thing written; the markers go after it. A failure before that
rolls the instant back: its files (named by the markers, or found by name) are deleted and a
rollback instant is written, as Hudi's own rollback does.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from enum import StrEnum
from typing import Any

from tributary.hudi import avro, avro_schemas, markers
from tributary.hudi.markers import IOType
from tributary.hudi.options import WriteOperation
from tributary.hudi.timeline import COMMIT_ACTIONS, Instant, Timeline
from tributary.storage import Storage

logger = logging.getLogger(__name__)


class WriteAction(StrEnum):
    """The timeline action of a write."""

    COMMIT = "commit"
    REPLACE_COMMIT = "replacecommit"

    @classmethod
    def of(cls, operation: WriteOperation) -> WriteAction:
        return cls.REPLACE_COMMIT if operation == WriteOperation.INSERT_OVERWRITE_TABLE else cls.COMMIT


class PendingWrite:
    """One write instant between its requested and completed states (see :func:`start_write`)."""

    def __init__(self, storage: Storage, timeline: Timeline, operation: WriteOperation) -> None:
        self.storage = storage
        self.timeline = timeline
        self.operation = operation
        self.action = WriteAction.of(operation)
        self.instant = timeline.new_time()

    def _begin(self) -> None:
        if self.action == WriteAction.REPLACE_COMMIT:
            payload = self.timeline.requested_replace_payload(self.operation.value, {})
            self.timeline.write_requested(self.instant, self.action, payload)
        else:
            self.timeline.write_requested(self.instant, self.action)
        inflight: dict[str, Any] = {
            "partitionToWriteStats": {},
            "compacted": False,
            "extraMetadata": {},
            "operationType": self.operation.value,
        }
        if self.action == WriteAction.REPLACE_COMMIT:
            inflight["partitionToReplaceFileIds"] = {}
        self.timeline.write_inflight(self.instant, self.action, self.timeline.commit_payload(inflight, self.action))

    def mark(self, data_path: str, io_type: IOType) -> None:
        """Write the marker of a data file (relative path) before the file itself."""
        markers.create(self.storage, self.instant, data_path, io_type)

    def complete(self, metadata: dict[str, Any]) -> Instant:
        """Write the completed instant (commit metadata as read back from either version)."""
        return self.timeline.write_completed(
            self.instant, self.action, self.timeline.commit_payload(metadata, self.action)
        )

    def clear_markers(self) -> None:
        """Remove the markers once the instant is complete (as Hudi's post-commit)."""
        markers.delete(self.storage, self.instant)

    def abort(self) -> None:
        """Roll the instant back after a failure; a failed rollback is left to the next write."""
        logger.exception("write to %s failed before commit %s completed; rolling back", self.storage.uri, self.instant)
        try:
            self.timeline.reload()
            rollback_pending(self.storage, self.timeline)
        except Exception:
            logger.exception(
                "rollback of %s on %s failed; the next write will retry it", self.instant, self.storage.uri
            )


def start_write(storage: Storage, timeline: Timeline, operation: WriteOperation) -> PendingWrite:
    """A new write instant, requested and inflight: from here on a crash leaves it pending."""
    pending = PendingWrite(storage, timeline, operation)
    pending._begin()
    return pending


# --- rollback --------------------------------------------------------------------------------


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


def _rollback_plan(storage: Storage, inst: Instant, by_part: dict[str, list[str]]) -> dict[str, Any]:
    """The ``HoodieRollbackPlan`` of deleting ``by_part`` (partition → relative paths)."""
    requests: list[dict[str, Any]] = [
        {
            "partitionPath": part,
            "fileId": None,
            "latestBaseInstant": None,
            "filesToBeDeleted": [java_uri(storage, p) for p in paths],
            "logBlocksToBeDeleted": {},
        }
        for part, paths in sorted(by_part.items())
    ]
    return {
        "instantToRollback": {"commitTime": inst.timestamp, "action": inst.action},
        "RollbackRequests": requests,
        "version": 1,
    }


def _rollback(storage: Storage, timeline: Timeline, inst: Instant) -> None:
    """Hudi's rollback of one pending write: plan (requested), inflight, delete, metadata."""
    start = time.monotonic()
    by_part: dict[str, list[str]] = defaultdict(list)
    for path in _files_of_pending(storage, inst):
        by_part[path.rpartition("/")[0]].append(path)
    rb_time = timeline.new_time()
    plan = _rollback_plan(storage, inst, by_part)
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


def java_uri(storage: Storage, rel: str) -> str:
    """``rel`` as Hudi's Java code names files: ``file:/abs/path`` locally, ``s3://…`` on S3."""
    return f"file:{storage.full_path(rel)}" if storage.is_local else storage.full_uri(rel)
