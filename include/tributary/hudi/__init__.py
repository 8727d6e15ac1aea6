"""Tributary's embedded Apache Hudi Copy-on-Write writer (pure Python, pyarrow).

Public API::

    from tributary.hudi import HudiTable, TableOptions, WriteOperation, CommitResult, CommitInfo

Tables are versions 6 (default) or 8, readable by Spark-Hudi and hudi-rs. See
``/work/shared/design/HUDI-COW-FORMAT.md`` for the format facts the writer follows.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tributary.hudi.options import TableOptions, WriteOperation
    from tributary.hudi.table import CommitInfo, HudiTable
    from tributary.hudi.writer import CommitResult

# imported when first used: a light module of the package (the timeline, the options) does not
# load the writer (start-up time of `tributary cdc apply` with nothing to do)
_HOMES = {
    "CommitInfo": "table",
    "CommitResult": "writer",
    "HudiTable": "table",
    "TableOptions": "options",
    "WriteOperation": "options",
}

__all__ = [
    "CommitInfo",
    "CommitResult",
    "HudiTable",
    "TableOptions",
    "WriteOperation",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tributary.hudi' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tributary.hudi.{home}"), name)
