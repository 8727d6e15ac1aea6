"""The committed file slices of a table, built from a listing and the timeline."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tributary.hudi.base_file import BaseFile, parse_base_file
from tributary.hudi.timeline import COMMIT_ACTIONS, Timeline
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


class FileIndex:
    """File groups of committed base files; replaced groups listed apart."""

    def __init__(self, storage: Storage, timeline: Timeline) -> None:
        self.storage = storage
        self.timeline = timeline
        self.groups: dict[tuple[str, str], FileGroup] = {}
        self.replaced: dict[tuple[str, str], str] = {}  # group -> replacing instant
        self.uncommitted: list[BaseFile] = []
        self.load()

    def load(self) -> None:
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
        for entry in self.storage.list_files("", recursive=True):
            if entry.path.startswith(".hoodie/") or "/." in f"/{entry.path}":
                continue
            bf = parse_base_file(entry.path, entry.size)
            if bf is None:
                continue
            ok = bf.instant in committed or (
                active_start is not None and bf.instant < active_start and bf.instant not in pending
            )
            if not ok and active_start is None:
                ok = False
            if not ok:
                uncommitted.append(bf)
                continue
            g = groups.setdefault((bf.partition, bf.file_id), FileGroup(bf.partition, bf.file_id))
            g.slices.append(bf)
        for g in groups.values():
            g.slices.sort(key=lambda b: b.instant)
        replaced: dict[tuple[str, str], str] = {}
        for inst in completed:
            if inst.action != "replacecommit":
                continue
            meta = self.timeline.read_metadata(inst)
            for part, ids in (meta.get("partitionToReplaceFileIds") or {}).items():
                for fid in ids or []:
                    replaced[(part, fid)] = inst.timestamp
        self.groups = groups
        self.replaced = replaced
        self.uncommitted = uncommitted

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
