"""Read the timeline of a table Spark wrote, for its Tributary checkpoint (Airflow side only).

The embedded writer's :class:`~tributary.hudi.HudiTable` refuses tables it cannot write
(Merge-on-Read, a metadata table), which is what a Spark-written table usually is. Reading the
checkpoint needs none of that: only the completed commit-like instants (``commit``,
``deltacommit``, ``replacecommit``) and their ``extraMetadata``. :class:`TableTimeline` gives
exactly the two methods :func:`tributary.cdc.apply.read_checkpoint` reads, so the local engine's
checkpoint reader is used unchanged. Never shipped to the cluster.
"""

from __future__ import annotations

from tributary.cdc.apply import applied_by
from tributary.hudi.options import parse_properties
from tributary.hudi.table import PROPERTIES, CommitInfo, commit_infos, extra_metadata
from tributary.hudi.timeline import Timeline
from tributary.storage import Storage

#: the actions whose completed instants carry a writer's commit metadata
WRITE_ACTIONS = ("commit", "deltacommit", "replacecommit")


class TableTimeline:
    """The completed write instants of the Hudi table at ``uri`` (v6 or v8 layout, any table type)."""

    def __init__(self, uri: str, storage: Storage, table_version: int, table_name: str) -> None:
        self.uri = uri.rstrip("/")
        self.timeline = Timeline(storage, 8 if table_version >= 8 else 6, table_name)

    @classmethod
    def open(cls, uri: str) -> TableTimeline | None:
        """The table's timeline, or None when no table exists at ``uri`` yet."""
        storage = Storage(uri)
        if not storage.is_file(PROPERTIES):
            return None
        props = parse_properties(storage.read_text(PROPERTIES))
        version = int(props.get("hoodie.table.version", "6") or 6)
        return cls(uri, storage, version, props.get("hoodie.table.name", ""))

    def completed_commits(self) -> list[CommitInfo]:
        self.timeline.reload()
        return commit_infos(self.timeline, self.timeline.completed(WRITE_ACTIONS))

    def latest_extra_metadata(self) -> dict[str, str]:
        self.timeline.reload()
        commits = self.timeline.completed(WRITE_ACTIONS)
        return extra_metadata(self.timeline.read_metadata(commits[-1])) if commits else {}

    def latest_instant(self) -> str | None:
        """The requested time of the newest completed write (what the job compares before writing)."""
        self.timeline.reload()
        commits = self.timeline.completed(WRITE_ACTIONS)
        return commits[-1].timestamp if commits else None

    def applied_by(self) -> dict[str, str]:
        """File path → the instant of the newest commit whose checkpoint says it applied the file."""
        return applied_by(self)

    def __repr__(self) -> str:
        return f"TableTimeline({self.uri!r})"
