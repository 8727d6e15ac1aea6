"""What the catalog must know about a Hudi table: its latest commit, full schema and partitions."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from tributary.catalog.definition import with_meta_columns
from tributary.errors import CatalogError
from tributary.hudi import HudiTable
from tributary.hudi.file_index import FileIndex
from tributary.hudi.schema import arrow_from_avro


@dataclass(frozen=True)
class TableState:
    """A Hudi table as the catalog sees it (None fields: the table has no commit yet)."""

    uri: str
    latest_instant: str | None
    schema: pa.Schema | None


class HudiSource:
    """Reads one table's timeline, schema and partition folders (no data files)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        if not HudiTable.exists(uri):
            self.table: HudiTable | None = None
        else:
            self.table = HudiTable.open(uri)

    def state(self) -> TableState:
        if self.table is None:
            return TableState(self.uri, None, None)
        commits = self.table.completed_commits()
        if not commits:
            return TableState(self.uri, None, None)
        # the writer's schema in the latest commit (what Hudi's sync reads first); the newest
        # base file's footer when a commit carries none
        avro = commits[-1].extra_metadata.get("schema")
        data = arrow_from_avro(avro) if avro else self.table.schema
        if data is None:
            raise CatalogError(f"{self.uri}: the table has commits but no schema; nothing to register")
        return TableState(self.uri, commits[-1].instant, with_meta_columns(data))

    def partitions_since(self, instant: str | None) -> list[str] | None:
        """Partition folders written by commits after ``instant``; None when the commits since
        cannot be told apart (no instant, or it left the active timeline): then list them all."""
        assert self.table is not None
        timeline = self.table.timeline
        timeline.reload()
        commits = timeline.completed_commits()
        if instant is None or not commits or instant < commits[0].timestamp:
            return None
        touched: set[str] = set()
        for inst in commits:
            if inst.timestamp > instant:
                touched.update((timeline.read_metadata(inst).get("partitionToWriteStats") or {}).keys())
        return sorted(touched)

    def all_partitions(self) -> list[str]:
        """Every partition folder holding a live file group."""
        assert self.table is not None
        index = FileIndex(self.table.storage, self.table.timeline)
        return index.partitions()
