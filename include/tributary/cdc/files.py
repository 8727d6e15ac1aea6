"""DMS file naming, order, identity and listing.

AWS DMS names full-load files ``LOAD<hex counter>.<ext>`` and CDC files by timestamp
(``20141029-1134010000.<ext>``), CDC files optionally under ``yyyy/mm/dd`` folders. Full-load
files apply before CDC files; load files in counter order, CDC files in name order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from tributary.errors import CdcError, CdcFileError, StorageError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow import fs as pafs

log = logging.getLogger(__name__)

_LOAD_RE = re.compile(r"^LOAD([0-9A-Fa-f]+)$")
_CDC_RE = re.compile(r"^\d{8}-\d+$")
FORMATS = {".parquet": "parquet", ".csv": "csv", ".csv.gz": "csv"}
DMS_NAMES = "LOAD<hex>.csv|parquet or <yyyymmdd>-<digits>.csv|parquet"


class FileKind(StrEnum):
    LOAD = "load"
    CDC = "cdc"


def _split_ext(name: str) -> tuple[str, str] | None:
    lower = name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if lower.endswith(ext):
            return name[: -len(ext)], ext
    return None


def _load_counter(path: str) -> int:
    """The hex counter of a full-load file ``LOAD<hex>.<ext>`` at ``path``."""
    split = _split_ext(path.rsplit("/", 1)[-1])
    if split is None:
        raise CdcFileError(path, f"not a DMS data file name ({DMS_NAMES})")
    return int(split[0][4:], 16)


def classify(name: str) -> tuple[FileKind, str] | None:
    """(kind, format) of a DMS file name, or None when the name is not a DMS data file."""
    split = _split_ext(name)
    if split is None:
        return None
    stem, ext = split
    if _LOAD_RE.match(stem):
        return FileKind.LOAD, FORMATS[ext]
    if _CDC_RE.match(stem):
        return FileKind.CDC, FORMATS[ext]
    return None


@dataclass(frozen=True)
class CdcFile:
    """One DMS file under a source root.

    ``path`` is relative to the source root (``/``-separated) and is what the checkpoint and the
    messages name; ``uri`` is what the reader opens. ``size`` and ``mtime_ns`` make the identity
    of a full-load file, whose name a DMS reload reuses.
    """

    path: str
    uri: str
    size: int
    mtime_ns: int
    kind: FileKind
    format: str
    digest: str = ""
    """``sha256:<hex>`` of the content when known (read, or recorded by the tracker)."""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def order_key(self) -> str:
        """Total DMS order as a string: loads by counter, then CDC files by name, then path."""
        if self.kind is FileKind.LOAD:
            return f"0|{_load_counter(self.path):016x}|{self.path}"
        return f"1|{self.name}|{self.path}"

    @property
    def load_counter(self) -> int | None:
        """The counter of a full-load file (1 starts a full load), None for CDC files."""
        if self.kind is not FileKind.LOAD:
            return None
        return _load_counter(self.path)

    @property
    def identity(self) -> str:
        """What makes this file "the same file": the path, plus size and mtime for loads."""
        if self.kind is FileKind.LOAD:
            return f"{self.path}|{self.size}|{self.mtime_ns}"
        return self.path

    @classmethod
    def local(cls, path: str, root: str | None = None) -> CdcFile:
        """A CdcFile for a local path (for tests and callers that hold explicit paths)."""
        import os

        st = os.stat(path)
        rel = os.path.relpath(path, root).replace(os.sep, "/") if root else os.path.basename(path)
        kind_fmt = classify(os.path.basename(path))
        if kind_fmt is None:
            raise CdcError(f"{path}: not a DMS file name (LOAD<hex>.csv|parquet or <yyyymmdd>-<n>.csv|parquet)")
        return cls(rel, os.path.abspath(path), st.st_size, st.st_mtime_ns, *kind_fmt)


def sort_files(files: list[CdcFile]) -> list[CdcFile]:
    """Files in the order DMS semantics apply them."""
    return sorted(files, key=lambda f: f.order_key)


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and path for a local directory, ``file://`` or ``s3://`` URI."""
    from tributary.storage import Storage

    storage = Storage(uri)
    return storage.fs, storage.full_path()


def list_files(source: str) -> list[CdcFile]:
    """Every DMS data file under ``source`` (recursively, for date folders), in DMS order.

    Hidden files and folders (``.``/``_`` prefixes) and names that are not DMS data files
    (``_SUCCESS``, notes) are skipped; a missing source is a :class:`StorageError`.
    """
    return list_source(source)[0]


def list_source(source: str) -> tuple[list[CdcFile], list[str]]:
    """:func:`list_files`, plus the data files (``.parquet``/``.csv``) left out because their
    names are not DMS names (a copy named ``LOAD00000001 (1).parquet``, a space, another
    alphabet): they are reported, never skipped silently."""
    from tributary.storage import Storage

    storage = Storage(source)
    if not storage.exists():
        raise StorageError(f"{source}: CDC source folder does not exist")
    out: list[CdcFile] = []
    ignored: list[str] = []
    for entry in storage.list_files(recursive=True):
        if any(part.startswith((".", "_")) for part in entry.path.split("/")):
            continue
        name = entry.path.rsplit("/", 1)[-1]
        kind_fmt = classify(name)
        if kind_fmt is None:
            if _split_ext(name) is not None:
                log.warning("ignoring %s: not a DMS data file name (%s)", entry.path, DMS_NAMES)
                ignored.append(entry.path)
            continue
        uri = storage.full_uri(entry.path)
        out.append(CdcFile(entry.path, uri, entry.size, entry.mtime_ns or 0, *kind_fmt))
    return sort_files(out), ignored


def digest_bytes(raw: bytes | pa.Buffer) -> str:
    """The content identity of a file's bytes."""
    import hashlib

    return "sha256:" + hashlib.sha256(raw).hexdigest()


def content_digest(uri: str) -> str:
    """The content identity of the file at ``uri`` (read in chunks); StorageError if unreadable."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open_input(uri) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise StorageError(f"{uri}: cannot be read: {exc}") from exc
    return "sha256:" + digest.hexdigest()


def open_input(uri: str) -> pafs.NativeFile:
    """Open a file for reading (decompressing ``.gz``); raises ``OSError`` when unreadable."""
    filesystem, path = resolve(uri)
    return filesystem.open_input_file(path) if not path.endswith(".gz") else filesystem.open_input_stream(path)
