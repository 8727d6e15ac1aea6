"""What one table run ended with, and its one serialized form (task results, the CLI's JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: a task result lists at most this many files and this many characters of error per table
MAX_FILES_SHOWN = 100
MAX_ERROR_CHARS = 1000


class OutcomeStatus(StrEnum):
    """How a table run ended."""

    COMPLETED = "completed"
    IDLE = "idle"
    """Nothing to apply."""
    BUSY = "busy"
    """Another worker holds the table's lease."""
    BLOCKED = "blocked"
    """A quarantined file holds the table until an operator retries or skips it."""
    FAILED = "failed"


@dataclass
class TableOutcome:
    table_id: str
    status: OutcomeStatus
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    files: list[str] = field(default_factory=list)
    instant: str | None = None
    error: str | None = None
    run_id: int | None = None
    reconciled: int = 0
    seconds: float = 0.0
    engine_seconds: float = 0.0
    """Time inside the CDC engine (read files, write the Hudi commit); the rest is lease, tracker,
    history and reconcile work against the metadata DB."""

    @property
    def failed(self) -> bool:
        return self.status == OutcomeStatus.FAILED

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        """JSON-safe. The short form (task results, XCom) bounds the file list and the error;
        ``full`` (the CLI's ``--json``) keeps everything, with the run id and timings."""
        error = self.error or None
        doc: dict[str, Any] = {
            "status": OutcomeStatus(self.status).value,
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "files": list(self.files) if full else list(self.files)[:MAX_FILES_SHOWN],
            "instant": self.instant,
            "error": error if full or error is None else error[:MAX_ERROR_CHARS],
        }
        if full:
            doc.update(
                table_id=self.table_id,
                run_id=self.run_id,
                reconciled=self.reconciled,
                seconds=self.seconds,
                engine_seconds=self.engine_seconds,
            )
        return doc


def outcome_dict(outcome: TableOutcome) -> dict[str, Any]:
    """The short serialized form of ``outcome`` (what a batch task returns per table)."""
    return outcome.to_dict()


def batch_dict(tables: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A batch's result from its tables' serialized outcomes: every table, and those that failed."""
    failed = sorted(t for t, o in tables.items() if o["status"] == OutcomeStatus.FAILED)
    return {"tables": dict(sorted(tables.items())), "failed": failed}
