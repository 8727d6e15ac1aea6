"""The seam between the table-run core and an engine that writes the Hudi table.

An engine opens the table's timeline (:class:`~tributary.cdc.apply.CommitLog`: the embedded
writer's ``HudiTable``, the Spark engine's ``TableTimeline``), from which the core reads the
checkpoint once per run, and says what it applied for a claim as an :class:`Applied`: the
embedded engine applies the files then and there; the Spark engine reads what its job committed.
The core (:mod:`tributary.processing.runs`) turns an :class:`Applied` into file marks, run
history and the outcome, the same way for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from tributary.cdc.apply import CommitLog

if TYPE_CHECKING:
    from tributary.processing.claim import Claim

#: the timeline type an engine reads (its claims carry it)
TimelineT = TypeVar("TimelineT", bound=CommitLog)


@dataclass(frozen=True)
class FileMark:
    """A file the engine found applied: by which commit (None: an earlier one, unknown here)."""

    instant: str | None
    detail: str
    """The file history line."""
    digest: str | None = None
    """Its content digest, when the engine computed one (the ledger's)."""
    reason: str | None = None
    """What ``cdc_files.reason`` says after (None: nothing to note)."""


@dataclass(frozen=True)
class Applied:
    """What an engine did for a claim, by file path (relative to the staging prefix).

    A claimed file in neither ``processed`` nor ``refused`` was not applied: the run fails with
    ``unapplied_error``, the attempt counted against that file.
    """

    processed: Mapping[str, FileMark] = field(default_factory=dict)
    refused: Mapping[str, str] = field(default_factory=dict)
    """Files the engine refused for good reasons of their own (re-uploads): path → why."""
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    instant: str | None = None
    """The commit the run made (None: no commit)."""
    note: str = ""
    """Appended to the run's completion history line."""
    unapplied_error: Exception | None = None


class TableEngine(Protocol[TimelineT]):
    """An engine as the table-run core sees it."""

    def open_timeline(self, target: str) -> TimelineT | None:
        """The table's commit log (None before the table's first commit)."""
        ...

    def applied(self, claim: Claim[TimelineT]) -> Applied:
        """What the engine applied for ``claim`` (raises when it applied nothing it can name)."""
        ...
