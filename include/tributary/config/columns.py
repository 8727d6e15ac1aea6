"""Column names no table may be keyed, ordered or partitioned by.

Kept apart from :mod:`tributary.config.models` so ``tributary cdc apply`` checks its options
without building the pydantic config models (start-up time).
"""

from __future__ import annotations

HUDI_META_PREFIX = "_hoodie_"
CHANGE_ID_COLUMN = "_tributary_change_id"
"""As in :mod:`tributary.cdc.options` (not imported: it loads the engine)."""


def reserved_column(column: str) -> str | None:
    """Why ``column`` cannot be a data column a table is keyed, ordered or partitioned by."""
    if column.lower() == "op":  # Glue and Athena fold case: 'op' meets DMS's 'Op' there
        return "is the DMS operation column (I/U/D) every change file carries; name the source column you mean"
    if column.lower().startswith(HUDI_META_PREFIX) or column == CHANGE_ID_COLUMN:
        return f"is a column Hudi or Tributary adds ({HUDI_META_PREFIX}*, {CHANGE_ID_COLUMN}); name a source column"
    return None
