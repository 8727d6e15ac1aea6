"""Side state of a CDC table kept next to its timeline, in ``.hoodie/.aux/tributary/``.

Two structures, each written before the commit that refers to it (a crashed commit leaves an
unreferenced file behind, never a reference to a missing one):

- the **ledger** of applied files: every file version a commit applied (path, kind, size, mtime,
  content digest), in append-only segments (one per commit, merged into one when there are more
  than :data:`MAX_SEGMENTS`). The checkpoint names the segments; nothing is forgotten, so a late
  file is recognised as new however many files were applied since. A segment is gzipped JSON
  (``ledger-*.json.gz``: read without pyarrow, so a run with nothing to apply never loads it);
  tables written before keep their Parquet segments (``ledger-*.parquet``), read as before, until
  the next merge rewrites them as JSON;
- the **delete markers**: record key, precombine value and DMS file order of each delete, kept
  ``delete_markers_hours`` so that a late change older than a delete cannot bring the row back.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tributary.cdc.files import CdcFile, FileKind
from tributary.errors import CdcError, StorageError
from tributary.storage import Storage

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

AUX = ".hoodie/.aux/tributary"
MAX_SEGMENTS = 8
"""Segments a checkpoint names at most (each run reads them all): the ninth commit merges them."""
ORDER_COLUMN = "__tributary_order"
"""DMS order key of the file a change came from (the tie-break after the precombine value)."""
AT_COLUMN = "__tributary_deleted_at"
LEDGER_COLUMNS = ("path", "kind", "size", "mtime_ns", "digest", "order_key", "max_value")
"""A ledger row's fields (the Parquet columns of older segments, the keys of JSON ones)."""
LEDGER_FORMAT = "tributary.ledger/1"


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
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink)
    _storage(target).write_bytes(name, sink.getvalue())


def _unreadable(target: str, name: str, exc: Exception) -> CdcError:
    return CdcError(
        f"{target}: side state {AUX}/{name} named by the latest commit cannot be read ({exc}); restore it "
        "from a backup or rebuild the table with `tributary tables reload`"
    )


def _read(target: str, name: str) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # ParquetFile, not read_table: one file needs no pyarrow.dataset
        return pq.ParquetFile(io.BytesIO(_storage(target).read_bytes(name))).read()
    except (StorageError, OSError, pa.ArrowException) as exc:
        raise _unreadable(target, name, exc) from exc


def _read_rows(target: str, name: str) -> list[dict[str, Any]]:
    """The rows of one ledger segment, JSON or (written before) Parquet."""
    if name.endswith(".parquet"):
        rows: list[dict[str, Any]] = _read(target, name).to_pylist()
        return rows
    try:
        document = json.loads(gzip.decompress(_storage(target).read_bytes(name)))
        if document.get("format") != LEDGER_FORMAT:
            raise ValueError(f"not a ledger segment ({LEDGER_FORMAT})")
        return [dict(zip(LEDGER_COLUMNS, row, strict=True)) for row in document["rows"]]
    except (StorageError, OSError, EOFError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _unreadable(target, name, exc) from exc


def read_ledger(target: str, segments: Sequence[str]) -> dict[str, Version]:
    """Path → the latest applied version, from the checkpoint's segments (oldest first)."""
    out: dict[str, Version] = {}
    for name in segments:
        for row in _read_rows(target, name):
            out[row["path"]] = Version(
                row["size"],
                row["mtime_ns"],
                row["digest"] or "",
                FileKind(row["kind"]),
                row["order_key"],
                row.get("max_value") or "",
            )
    return out


def _write_ledger(target: str, name: str, entries: Iterable[tuple[str, Version]]) -> None:
    """One ledger segment: gzipped JSON rows in :data:`LEDGER_COLUMNS` order."""
    rows = [[p, v.kind.value, v.size, v.mtime_ns, v.digest, v.order_key, v.max_value] for p, v in entries]
    document = json.dumps({"format": LEDGER_FORMAT, "rows": rows}, separators=(",", ":"))
    _storage(target).write_bytes(name, gzip.compress(document.encode("utf-8"), compresslevel=6, mtime=0))


def write_segments(
    target: str,
    segments: Sequence[str],
    ledger: Mapping[str, Version],
    applied: Sequence[CdcFile],
    max_values: Mapping[str, str],
) -> tuple[str, ...]:
    """Record ``applied`` in a new segment (or merge every segment into one) and return the
    segment names the next checkpoint carries."""
    name = f"ledger-{time.time_ns()}-{uuid.uuid4().hex[:8]}.json.gz"
    new = {f.path: version_of(f, max_values.get(f.path, "")) for f in applied}
    if len(segments) + 1 > MAX_SEGMENTS:
        _write_ledger(target, name, sorted({**ledger, **new}.items()))
        return (name,)
    _write_ledger(target, name, new.items())
    return (*segments, name)


def read_markers(target: str, name: str) -> pa.Table | None:
    """The delete markers (key columns, precombine, order, time), or None without any."""
    return _read(target, name) if name else None


def write_markers(target: str, markers: pa.Table | None, keep_hours: float) -> str:
    """Store the markers younger than ``keep_hours``; the name for the checkpoint ("" if none)."""
    if markers is None or markers.num_rows == 0:
        return ""
    import pyarrow.compute as pc

    cutoff = time.time_ns() - int(keep_hours * 3600 * 1e9)
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
