"""The vocabularies both engines share: Hudi write operations, Hudi table types, storage modes.

One home for each, importable without Airflow, pyarrow or pyspark: the Glue job ships this
module in its zip (``templates/glue.py`` ``_SCRIPT_MODULES``), and the embedded writer, the CDC
planner, the Spark job and the config models all use these same classes.
"""

from __future__ import annotations

from enum import StrEnum


class WriteOperationType(StrEnum):
    """Hudi's ``WriteOperationType``: a member's value is the name Hudi records as a commit's
    ``operationType`` (``UPSERT``); :attr:`option` is the spelling the Spark datasource takes in
    ``hoodie.datasource.write.operation`` (``upsert``, Hudi's ``WriteOperationType.value()``).
    Either spelling parses, in any case, as Hudi's own ``fromValue`` does."""

    UPSERT = "UPSERT"
    INSERT = "INSERT"
    BULK_INSERT = "BULK_INSERT"
    DELETE = "DELETE"
    INSERT_OVERWRITE_TABLE = "INSERT_OVERWRITE_TABLE"

    @property
    def option(self) -> str:
        """The value of ``hoodie.datasource.write.operation`` for this operation."""
        return self.value.lower()

    @classmethod
    def parse(cls, text: object) -> WriteOperationType | None:
        """The operation ``text`` names (either spelling, any case); None if it names none."""
        if isinstance(text, cls):
            return text
        return cls.__members__.get(text.strip().upper()) if isinstance(text, str) else None

    @classmethod
    def _missing_(cls, value: object) -> WriteOperationType | None:
        return cls.parse(value)


class TableType(StrEnum):
    """Hudi's table type; the value is what ``hoodie.table.type`` and
    ``hoodie.datasource.write.table.type`` hold. ``cow``/``mor`` and any case parse too."""

    COPY_ON_WRITE = "COPY_ON_WRITE"
    MERGE_ON_READ = "MERGE_ON_READ"

    @classmethod
    def parse(cls, text: object) -> TableType | None:
        """The table type ``text`` names (Hudi's name or ``cow``/``mor``, any case); None if none."""
        if isinstance(text, cls):
            return text
        if not isinstance(text, str):
            return None
        name = text.strip().upper()
        return {"COW": cls.COPY_ON_WRITE, "MOR": cls.MERGE_ON_READ}.get(name) or cls.__members__.get(name)

    @classmethod
    def _missing_(cls, value: object) -> TableType | None:
        return cls.parse(value)


class StorageMode(StrEnum):
    """How CDC changes land in a table: ``current`` keeps the latest row per key, ``historical``
    appends every change (the Hudi key gains the change id)."""

    CURRENT = "current"
    HISTORICAL = "historical"
