"""The Hudi timeline: instant files, their states, new instant times and commit metadata.

Version 6 (layout 1) keeps instants in ``.hoodie/`` as JSON; version 8 (layout 2) keeps them in
``.hoodie/timeline/`` as Avro, completed ones named ``<requested>_<completion>.<action>``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tributary.errors import HudiError
from tributary.hudi import avro, avro_schemas
from tributary.storage import Storage

logger = logging.getLogger(__name__)

REQUESTED, INFLIGHT, COMPLETED = "REQUESTED", "INFLIGHT", "COMPLETED"
COMMIT_ACTIONS = ("commit", "replacecommit")
_NAME = re.compile(r"^(\d{17})(?:_(\d{17}))?\.([a-z]+)(?:\.(requested|inflight))?$")
_FMT = "%Y%m%d%H%M%S%f"


@dataclass(frozen=True, order=True)
class Instant:
    """One instant file on the timeline."""

    timestamp: str
    action: str
    state: str
    completion: str | None = None
    file_name: str = field(default="", compare=False)

    @property
    def is_completed(self) -> bool:
        return self.state == COMPLETED


def parse_instant_name(name: str) -> Instant | None:
    m = _NAME.match(name)
    if not m:
        return None
    ts, completion, action, suffix = m.groups()
    if action == "inflight" and suffix is None:  # "<t>.inflight" = commit inflight
        return Instant(ts, "commit", INFLIGHT, None, name)
    state = {None: COMPLETED, "requested": REQUESTED, "inflight": INFLIGHT}[suffix]
    return Instant(ts, action, state, completion, name)


def format_time(dt: datetime) -> str:
    return dt.strftime(_FMT)[:17]


def parse_time(ts: str) -> datetime:
    return datetime.strptime(ts[:17] + "000", _FMT).replace(tzinfo=UTC)


def next_time(after: str | None) -> str:
    """A new instant time (UTC, ms) strictly greater than ``after``."""
    now = format_time(datetime.now(UTC))
    if after is not None and now <= after:
        now = format_time(parse_time(after) + timedelta(milliseconds=1))
    return now


class Timeline:
    """Reads and writes the instants of one table."""

    def __init__(self, storage: Storage, table_version: int, table_name: str) -> None:
        self.storage = storage
        self.version = table_version
        self.table_name = table_name
        self.dir = ".hoodie" if table_version == 6 else ".hoodie/timeline"
        self.archive_dir = ".hoodie/archived" if table_version == 6 else ".hoodie/timeline/history"
        self._instants: list[Instant] | None = None

    # --- reading -------------------------------------------------------------------------------

    def reload(self) -> None:
        self._instants = None

    @property
    def instants(self) -> list[Instant]:
        """Every instant file in the active timeline, ordered by time then state."""
        if self._instants is None:
            found = []
            for entry in self.storage.list_files(self.dir):
                inst = parse_instant_name(entry.path.rsplit("/", 1)[-1])
                if inst is not None:
                    found.append(inst)
            order = {REQUESTED: 0, INFLIGHT: 1, COMPLETED: 2}
            found.sort(key=lambda i: (i.timestamp, order[i.state]))
            self._instants = found
        return self._instants

    def state(self) -> tuple[str, ...]:
        """The names of the instant files: equal states mean nobody wrote to the timeline between."""
        return tuple(i.file_name for i in self.instants)

    def completed(self, actions: tuple[str, ...] | None = None) -> list[Instant]:
        out = [i for i in self.instants if i.is_completed and (actions is None or i.action in actions)]
        if self.version == 8:
            out = [i for i in out if i.completion]
        return out

    def completed_commits(self) -> list[Instant]:
        return self.completed(COMMIT_ACTIONS)

    def pending(self) -> list[Instant]:
        """Instants (by time) that have no completed state: crashed or in-flight writes."""
        done = {(i.timestamp, i.action) for i in self.instants if i.is_completed}
        latest: dict[tuple[str, str], Instant] = {}
        for i in self.instants:
            if (i.timestamp, i.action) not in done:
                latest[(i.timestamp, i.action)] = i
        return sorted(latest.values())

    def files_of(self, ts: str) -> list[Instant]:
        return [i for i in self.instants if i.timestamp == ts]

    def max_time(self) -> str | None:
        """The greatest time on the timeline (requested or completion), archived included."""
        times = [i.timestamp for i in self.instants] + [i.completion for i in self.instants if i.completion]
        for entry in self.storage.list_files(self.archive_dir):
            inst = parse_instant_name(entry.path.rsplit("/", 1)[-1])
            if inst is not None:
                times.append(inst.timestamp)
                if inst.completion:
                    times.append(inst.completion)
        return max(times) if times else None

    def read_metadata(self, instant: Instant) -> dict[str, Any]:
        """Commit metadata of a commit/replacecommit instant as a dict ({} for empty files)."""
        path = f"{self.dir}/{instant.file_name}"
        data = self.storage.read_bytes(path)
        if not data:
            return {}
        try:
            if data[:4] == avro.MAGIC:
                _, records = avro.read_container(data)
                return records[0] if records else {}
            return json.loads(data.decode("utf-8"))
        except (ValueError, KeyError, IndexError) as exc:
            raise HudiError(
                f"{self.storage.full_uri(path)}: instant file of table {self.table_name!r} is unreadable ({exc}); "
                "restore it from a backup or remove the instant with Hudi CLI"
            ) from exc

    # --- writing -------------------------------------------------------------------------------

    def new_time(self) -> str:
        t = next_time(self.max_time())
        return t

    def _write(self, name: str, data: bytes) -> None:
        self.storage.write_bytes(f"{self.dir}/{name}", data)
        self._instants = None

    def write_requested(self, ts: str, action: str, payload: bytes = b"") -> None:
        self._write(f"{ts}.{action}.requested", payload)

    def write_inflight(self, ts: str, action: str, payload: bytes) -> None:
        name = f"{ts}.inflight" if action == "commit" else f"{ts}.{action}.inflight"
        self._write(name, payload)

    def write_completed(self, ts: str, action: str, payload: bytes) -> Instant:
        """Write the completed instant file: the last step of a commit. Returns the instant."""
        if self.version == 8:
            completion = next_time(max(ts, self.max_time() or ts))
            name = f"{ts}_{completion}.{action}"
        else:
            completion = None
            name = f"{ts}.{action}"
        self._write(name, payload)
        return Instant(ts, action, COMPLETED, completion, name)

    def delete_instant_files(self, ts: str) -> None:
        for inst in self.files_of(ts):
            self.storage.delete(f"{self.dir}/{inst.file_name}")
        self._instants = None

    # --- payloads ------------------------------------------------------------------------------

    def commit_payload(self, metadata: dict[str, Any], action: str) -> bytes:
        """Serialise commit metadata: JSON (v6) or Avro (v8)."""
        if self.version == 6:
            return json.dumps(metadata, indent=2).encode("utf-8")
        schema = avro_schemas.REPLACE_COMMIT_METADATA if action == "replacecommit" else avro_schemas.COMMIT_METADATA
        return avro.write_container(schema, [avro_commit(metadata, action)])

    def requested_replace_payload(self, operation: str, extra: dict[str, str] | None = None) -> bytes:
        return avro.write_container(
            avro_schemas.REQUESTED_REPLACE_METADATA,
            [{"operationType": operation, "clusteringPlan": None, "extraMetadata": extra or {}, "version": 1}],
        )


_STAT_FIELDS = [f["name"] for f in avro_schemas.COMMIT_METADATA["fields"][0]["type"][1]["values"]["items"]["fields"]]


def avro_commit(metadata: dict[str, Any], action: str) -> dict[str, Any]:
    """Commit metadata (as read from either version) as a ``HoodieCommitMetadata`` Avro record."""
    stats = {
        part: [{k: s.get(k) for k in _STAT_FIELDS} for s in items]
        for part, items in metadata.get("partitionToWriteStats", {}).items()
    }
    for items in stats.values():
        for s in items:
            if s.get("prevCommit") is None:
                s["prevCommit"] = "null"
            rs = s.get("runtimeStats")
            if rs is not None:
                s["runtimeStats"] = {k: rs.get(k) for k in ("totalScanTime", "totalCreateTime", "totalUpsertTime")}
            if s.get("cdcStats") is not None and not isinstance(s["cdcStats"], dict):
                s["cdcStats"] = None
    out = {
        "partitionToWriteStats": stats,
        "compacted": bool(metadata.get("compacted", False)),
        "extraMetadata": dict(metadata.get("extraMetadata", {})),
        "version": 1,
        "operationType": metadata.get("operationType"),
    }
    if action == "replacecommit":
        out["partitionToReplaceFileIds"] = metadata.get("partitionToReplaceFileIds", {})
    return out


def epoch_millis(ts: str) -> int:
    return int(parse_time(ts).timestamp() * 1000)


def monotonic_ms() -> float:
    return time.monotonic() * 1000
