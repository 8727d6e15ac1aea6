"""The committed file slices of a table, built from a listing and the timeline."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from tributary.hudi.base_file import BaseFile, parse_base_file
from tributary.hudi.timeline import COMMIT_ACTIONS, Instant, Timeline
from tributary.storage import Storage

logger = logging.getLogger(__name__)


@dataclass
class FileGroup:
    partition: str
    file_id: str
    slices: list[BaseFile] = field(default_factory=list)

    @property
    def latest(self) -> BaseFile:
        return self.slices[-1]


def list_base_files(storage: Storage) -> list[BaseFile]:
    """Every base file under the table root (one recursive listing; ``.hoodie`` and hidden skipped)."""
    found = []
    for entry in storage.list_files("", recursive=True):
        if entry.path.startswith(".hoodie/") or "/." in f"/{entry.path}":
            continue
        bf = parse_base_file(entry.path, entry.size)
        if bf is not None:
            found.append(bf)
    return found


class FileIndex:
    """File groups of committed base files; replaced groups listed apart.

    ``files`` is a listing of the table's base files (:func:`list_base_files`), taken now when not
    given; the index sorts it by the timeline as loaded.
    """

    def __init__(self, storage: Storage, timeline: Timeline, files: Sequence[BaseFile] | None = None) -> None:
        self.storage = storage
        self.timeline = timeline
        self.files: list[BaseFile] = list(files) if files is not None else list_base_files(storage)
        self.groups: dict[tuple[str, str], FileGroup] = {}
        self.replaced: dict[tuple[str, str], str] = {}  # group -> replacing instant
        self.uncommitted: list[BaseFile] = []
        self._classify()

    def load(self) -> None:
        """List the table's files again and sort them by the timeline."""
        self.files = list_base_files(self.storage)
        self._classify()

    def _classify(self) -> None:
        completed = self.timeline.completed_commits()
        committed = {i.timestamp for i in completed}
        # files of archived commits are those before the first commit on the active timeline (as
        # Hudi's isBeforeTimelineStarts): cleans and rollbacks are archived on their own, so an
        # old rollback may outlive the commits after it
        active_start = min(
            (i.timestamp for i in self.timeline.instants if i.action in (*COMMIT_ACTIONS, "deltacommit")), default=None
        )
        pending = {i.timestamp for i in self.timeline.pending()}
        groups: dict[tuple[str, str], FileGroup] = {}
        uncommitted = []
        for bf in self.files:
            ok = bf.instant in committed or (
                active_start is not None and bf.instant < active_start and bf.instant not in pending
            )
            if not ok:
                uncommitted.append(bf)
                continue
            g = groups.setdefault((bf.partition, bf.file_id), FileGroup(bf.partition, bf.file_id))
            g.slices.append(bf)
        for g in groups.values():
            g.slices.sort(key=lambda b: b.instant)
        self.groups = groups
        self.replaced = self._replaced(completed)
        self.uncommitted = uncommitted

    def _replaced(self, completed: list[Instant]) -> dict[tuple[str, str], str]:
        replaced: dict[tuple[str, str], str] = {}
        for inst in completed:
            if inst.action != "replacecommit":
                continue
            meta = self.timeline.read_metadata(inst)
            for part, ids in (meta.get("partitionToReplaceFileIds") or {}).items():
                for fid in ids or []:
                    replaced[(part, fid)] = inst.timestamp
        return replaced

    def live_groups(self) -> list[FileGroup]:
        """File groups in the current snapshot (not replaced), sorted by partition and id."""
        return sorted(
            (g for k, g in self.groups.items() if k not in self.replaced),
            key=lambda g: (g.partition, g.file_id),
        )

    def latest_files(self) -> list[BaseFile]:
        return [g.latest for g in self.live_groups()]

    def partitions(self) -> list[str]:
        return sorted({g.partition for g in self.live_groups()})
