"""Query parameters of the ops API, checked before any SQL is built: every value is an enum member,
a bounded integer or a short search text used only as a bound LIKE parameter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from tributary.errors import OpsQueryError

MAX_PAGE_SIZE = 500
MAX_PAGE = 1_000_000
E = TypeVar("E", bound=StrEnum)
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,257}$")


class TableState(StrEnum):
    """A table's state, most urgent first (the SQL ``CASE`` in :mod:`tributary.ops.queries`)."""

    INACTIVE = "inactive"
    BLOCKED = "blocked"
    FAILING = "failing"
    BACKLOG = "backlog"
    OK = "ok"


class SortKey(StrEnum):
    TABLE = "table"
    STATE = "state"
    FRESHNESS = "freshness"
    PENDING = "pending"
    PENDING_BYTES = "pending_bytes"
    LAST_RUN = "last_run"
    CADENCE = "cadence"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


def check_name(value: str | None, what: str) -> str | None:
    """A table/cadence/flow/database name as the config allows them, or None when absent."""
    if value is None or value == "":
        return None
    if not _NAME.match(value):
        raise OpsQueryError(f"{what} {value[:80]!r}: letters, digits, '_', '.' and '-' only (at most 257)")
    return value


def _enum(cls: type[E], value: str | None, what: str) -> E | None:
    if value is None or value == "":
        return None
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise OpsQueryError(f"{what} {value[:40]!r} is not one of: {allowed}") from None


@dataclass(frozen=True)
class TableQuery:
    """What the tables list asks for: filters, order and one page."""

    search: str | None = None
    state: TableState | None = None
    cadence: str | None = None
    flow: str | None = None
    database: str | None = None
    sort: SortKey = SortKey.TABLE
    order: SortOrder = SortOrder.ASC
    page: int = 1
    page_size: int = 50

    @classmethod
    def parse(
        cls,
        *,
        search: str | None = None,
        state: str | None = None,
        cadence: str | None = None,
        flow: str | None = None,
        database: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> TableQuery:
        if search is not None and len(search) > 200:
            raise OpsQueryError("search: at most 200 characters")
        if not 1 <= page <= MAX_PAGE:
            raise OpsQueryError(f"page {page}: between 1 and {MAX_PAGE}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise OpsQueryError(f"page_size {page_size}: between 1 and {MAX_PAGE_SIZE}")
        return cls(
            search=(search or "").strip() or None,
            state=_enum(TableState, state, "state"),
            cadence=check_name(cadence, "cadence"),
            flow=check_name(flow, "flow"),
            database=check_name(database, "database"),
            sort=_enum(SortKey, sort, "sort") or SortKey.TABLE,
            order=_enum(SortOrder, order, "order") or SortOrder.ASC,
            page=page,
            page_size=page_size,
        )

    def as_params(self) -> dict[str, str]:
        """The query string of this query (for the page's links), defaults left out."""
        out = {
            "search": self.search,
            "state": self.state.value if self.state else None,
            "cadence": self.cadence,
            "flow": self.flow,
            "database": self.database,
            "sort": self.sort.value if self.sort != SortKey.TABLE else None,
            "order": self.order.value if self.order != SortOrder.ASC else None,
            "page": str(self.page) if self.page != 1 else None,
            "page_size": str(self.page_size) if self.page_size != 50 else None,
        }
        return {k: v for k, v in out.items() if v}
