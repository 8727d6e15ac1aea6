"""CDC files as AWS DMS writes them: listing and order, reading, merge planning, checkpoints,
and applying them to a Hudi table exactly once (see ``design/DMS-CDC-FORMAT.md``).

A file processor calls :func:`apply_files` per table with the files it holds; the one-shot
command calls :func:`apply_pending` with a source folder.
"""

from __future__ import annotations

from tributary.cdc.apply import ApplyResult, apply_files, apply_pending, read_and_plan
from tributary.cdc.checkpoint import Checkpoint
from tributary.cdc.files import CdcFile, FileKind, list_files, sort_files
from tributary.cdc.options import CdcOptions, StorageMode

__all__ = [
    "ApplyResult",
    "CdcFile",
    "CdcOptions",
    "Checkpoint",
    "FileKind",
    "StorageMode",
    "apply_files",
    "apply_pending",
    "list_files",
    "read_and_plan",
    "sort_files",
]
