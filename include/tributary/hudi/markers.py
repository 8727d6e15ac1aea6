"""Hudi's direct write markers: one empty file per data file a write creates.

A marker ``.hoodie/.temp/<instant>/<partition>/<file>.marker.<IOType>`` is written before its
data file, so a rollback (ours, or Hudi's marker-based rollback in Spark) knows every file of a
crashed write, partial ones included. Java reads direct markers when the instant's marker folder
has no ``MARKERS.type`` file; the folder is deleted once the instant completes.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from tributary.errors import StorageError
from tributary.storage import Storage

logger = logging.getLogger(__name__)

TEMP_DIR = ".hoodie/.temp"
MARKER = ".marker."


class IOType(StrEnum):
    """Hudi's ``IOType`` of a marker: a new file group, or a rewrite of an existing base file."""

    CREATE = "CREATE"
    MERGE = "MERGE"


def marker_dir(instant: str) -> str:
    return f"{TEMP_DIR}/{instant}"


def create(storage: Storage, instant: str, data_path: str, io_type: IOType) -> None:
    """Write the marker of ``data_path`` (relative to the table) before the file itself."""
    storage.write_bytes(f"{marker_dir(instant)}/{data_path}{MARKER}{io_type.value}", b"")


def data_files(storage: Storage, instant: str) -> list[str]:
    """Data files (relative paths) named by the markers of ``instant``."""
    root = marker_dir(instant)
    out = []
    for entry in storage.list_files(root, recursive=True):
        rel = entry.path[len(root) + 1 :] if entry.path.startswith(root + "/") else entry.path
        head, sep, io = rel.rpartition(MARKER)
        if sep and io in IOType.__members__:
            out.append(head)
    return sorted(out)


def delete(storage: Storage, instant: str) -> None:
    """Remove the instant's marker folder (after it completed or was rolled back)."""
    try:
        storage.delete_dir(marker_dir(instant))
    except StorageError:  # a left-over folder is harmless: Hudi's archiver removes it too
        logger.warning("could not delete markers of %s in %s", instant, storage.uri, exc_info=True)
