"""Side state of a CDC table kept next to its timeline, in ``.hoodie/.aux/tributary/``.

Two structures, each written before the commit that refers to it (a crashed commit leaves an
unreferenced file behind, never a reference to a missing one):

- the **ledger** of applied files: every file version a commit applied (path, kind, size, mtime,
  content digest), in append-only segments (one per commit, merged into one when there are more
  than :data:`MAX_SEGMENTS`). The checkpoint names the segments; nothing is forgotten, so a late
  file is recognised as new however many files were applied since;
- the **delete markers**: record key, precombine value and DMS file order of each delete, kept
  ``delete_markers_hours`` so that a late change older than a delete cannot bring the row back.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.cdc.files import CdcFile, FileKind
from tributary.errors import CdcError, StorageError
from tributary.storage import Storage

log = logging.getLogger(__name__)

AUX = ".hoodie/.aux/tributary"
MAX_SEGMENTS = 8
"""Segments a checkpoint names at most (each run reads them all): the ninth commit merges them."""
ORDER_COLUMN = "__tributary_order"
"""DMS order key of the file a change came from (the tie-break after the precombine value)."""
AT_COLUMN = "__tributary_deleted_at"

_LEDGER_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("kind", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("digest", pa.string()),
        ("order_key", pa.string()),
        ("max_value", pa.string()),
    ]
)


@dataclass(frozen=True)
class Version:
    """What a file was when it was applied."""

    size: int
    mtime_ns: int
    digest: str
    kind: FileKind
    order_key: str
    max_value: str = ""
    """The file's greatest precombine value (checkpoint text): a reload replays the CDC files
    applied before it that hold changes not older than the new generation."""

    def describe(self) -> str:
        digest = self.digest.split(":", 1)[-1][:12] if self.digest else "unknown"
        return f"{self.size} bytes, sha256 {digest}"


def version_of(file: CdcFile, max_value: str = "") -> Version:
    return Version(file.size, file.mtime_ns, file.digest, file.kind, file.order_key, max_value)


def _storage(target: str) -> Storage:
    return Storage(target).child(AUX)


def _write(target: str, name: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    _storage(target).write_bytes(name, sink.getvalue())


def _read(target: str, name: str) -> pa.Table:
    try:
        # ParquetFile, not read_table: one file needs no pyarrow.dataset (start-up time of a no-op run)
        return pq.ParquetFile(io.BytesIO(_storage(target).read_bytes(name))).read()
    except (StorageError, OSError, pa.ArrowException) as exc:
        raise CdcError(
            f"{target}: side state {AUX}/{name} named by the latest commit cannot be read ({exc}); restore it "
            "from a backup or rebuild the table with `tributary tables reload`"
        ) from exc


def read_ledger(target: str, segments: Sequence[str]) -> dict[str, Version]:
    """Path → the latest applied version, from the checkpoint's segments (oldest first)."""
    out: dict[str, Version] = {}
    for name in segments:
        for row in _read(target, name).to_pylist():
            out[row["path"]] = Version(
                row["size"],
                row["mtime_ns"],
                row["digest"] or "",
                FileKind(row["kind"]),
                row["order_key"],
                row.get("max_value") or "",
            )
    return out


def _ledger_table(entries: Iterable[tuple[str, Version]]) -> pa.Table:
    rows = [
        {
            "path": p,
            "kind": v.kind.value,
            "size": v.size,
            "mtime_ns": v.mtime_ns,
            "digest": v.digest,
            "order_key": v.order_key,
            "max_value": v.max_value,
        }
        for p, v in entries
    ]
    return pa.Table.from_pylist(rows, schema=_LEDGER_SCHEMA)


def write_segments(
    target: str,
    segments: Sequence[str],
    ledger: Mapping[str, Version],
    applied: Sequence[CdcFile],
    max_values: Mapping[str, str],
) -> tuple[str, ...]:
    """Record ``applied`` in a new segment (or merge every segment into one) and return the
    segment names the next checkpoint carries."""
    name = f"ledger-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
    new = {f.path: version_of(f, max_values.get(f.path, "")) for f in applied}
    if len(segments) + 1 > MAX_SEGMENTS:
        _write(target, name, _ledger_table(sorted({**ledger, **new}.items())))
        return (name,)
    _write(target, name, _ledger_table(new.items()))
    return (*segments, name)


def read_markers(target: str, name: str) -> pa.Table | None:
    """The delete markers (key columns, precombine, order, time), or None without any."""
    return _read(target, name) if name else None


def write_markers(target: str, markers: pa.Table | None, keep_hours: float) -> str:
    """Store the markers younger than ``keep_hours``; the name for the checkpoint ("" if none)."""
    if markers is None or markers.num_rows == 0:
        return ""
    cutoff = time.time_ns() - int(keep_hours * 3600 * 1e9)
    import pyarrow.compute as pc

    markers = markers.filter(pc.greater_equal(markers.column(AT_COLUMN), cutoff))
    if markers.num_rows == 0:
        return ""
    name = f"deletes-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
    _write(target, name, markers)
    return name


def forget(target: str, names: Iterable[str]) -> None:
    """Remove side files no checkpoint refers to any more (best effort)."""
    storage = _storage(target)
    for name in names:
        try:
            storage.delete(name)
        except StorageError as exc:
            log.warning("could not remove %s/%s: %s", AUX, name, exc)
