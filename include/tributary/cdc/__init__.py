"""CDC files as AWS DMS writes them: listing and order, reading, merge planning, checkpoints,
and applying them to a Hudi table exactly once (see ``design/DMS-CDC-FORMAT.md``).

A file processor calls :func:`apply_files` per table with the files it holds; the one-shot
command calls :func:`apply_pending` with a source folder.

The names below are imported when first used, so importing one light module of the package
(``tributary.cdc.options``, ``tributary.cdc.files``) does not load the engine (start-up time).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tributary.cdc.apply import ApplyResult, apply_files, apply_pending, read_and_plan
    from tributary.cdc.checkpoint import Checkpoint
    from tributary.cdc.files import CdcFile, FileKind, list_files, sort_files
    from tributary.cdc.options import CdcOptions, StorageMode

_HOMES = {
    "ApplyResult": "apply",
    "apply_files": "apply",
    "apply_pending": "apply",
    "read_and_plan": "apply",
    "Checkpoint": "checkpoint",
    "CdcFile": "files",
    "FileKind": "files",
    "list_files": "files",
    "sort_files": "files",
    "CdcOptions": "options",
    "StorageMode": "options",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tributary.cdc' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tributary.cdc.{home}"), name)
