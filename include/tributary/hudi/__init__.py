"""Tributary's embedded Apache Hudi Copy-on-Write writer (pure Python, pyarrow).

Public API::

    from tributary.hudi import HudiTable, TableOptions, WriteOperation, CommitResult, CommitInfo

Tables are versions 6 (default) or 8, readable by Spark-Hudi and hudi-rs. See
``/work/shared/design/HUDI-COW-FORMAT.md`` for the format facts the writer follows.
"""

from __future__ import annotations

from tributary.hudi.options import TableOptions, WriteOperation
from tributary.hudi.table import CommitInfo, HudiTable
from tributary.hudi.writer import CommitResult

__all__ = ["CommitInfo", "CommitResult", "HudiTable", "TableOptions", "WriteOperation"]
