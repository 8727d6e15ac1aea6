"""Compare what the demo expects (computed from the generated source) with what hudi-rs reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tributary.config.locations import resolve_location
from tributary.config.validation import ConfigSet
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, FileStatus

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class TableCheck:
    table_id: str
    expected_rows: int
    actual_rows: int
    expected_fare: float
    actual_fare: float
    commits: int
    files_processed: int
    files_expected: int
    lag_seconds: float | None
    note: str = ""
    catalog: str = ""
    """The table's Glue Data Catalog state (tributary.catalog.status), e.g. "in step"."""
    catalog_ok: bool = True

    @property
    def ok(self) -> bool:
        return (
            self.expected_rows == self.actual_rows
            and abs(self.expected_fare - self.actual_fare) < 0.01
            and self.files_processed == self.files_expected
            and not self.note
            and self.catalog_ok
        )


def check_tables(config: ConfigSet, expected_path: Path) -> list[TableCheck]:
    """Each demo table as hudi-rs reads it and as the tracker saw it, against what the generated
    source expects."""
    import hudi
    import pyarrow as pa
    import pyarrow.compute as pc

    from tributary.catalog.status import CatalogState, catalog_statuses

    expected = json.loads(expected_path.read_text())["tables"]
    catalog = {c.table_id: c for c in catalog_statuses(config, sorted(expected))}
    now = datetime.now(UTC)
    checks = []
    for table_id, exp in sorted(expected.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[1])):
        table = config.tables[table_id]
        target = resolve_location(table.target_uri)
        reader = hudi.HudiTable(target)
        batches = reader.read()
        data = pa.Table.from_batches(batches) if batches else None
        rows = data.num_rows if data is not None else 0
        fare = round(float(pc.sum(data.column("fare_amount")).as_py() or 0), 2) if data is not None else 0.0
        timeline = reader.get_timeline()
        commits = len(timeline.get_completed_commits()) + len(timeline.get_completed_replacecommits())
        processed, lag = _file_progress(table_id, now)
        note = _tracked_key_note(data, exp.get("tracked_key"))
        state = catalog[table_id].state
        checks.append(
            TableCheck(
                table_id,
                exp["rows"],
                rows,
                exp["fare_sum"],
                fare,
                commits,
                processed,
                exp["files"],
                lag,
                note,
                catalog=f"{state.value} ({catalog[table_id].catalog_name})",
                catalog_ok=state in (CatalogState.IN_STEP, CatalogState.OPTED_OUT, CatalogState.HUDI_SYNC),
            )
        )
    return checks


def _file_progress(table_id: str, now: datetime) -> tuple[int, float | None]:
    """The table's processed file count, and its lag: the age of its oldest waiting file (0 when
    none waits and something was applied, None when nothing was)."""
    with session_scope() as s:
        processed = (
            s.scalar(
                select(func.count())
                .select_from(CdcFileRow)
                .where(CdcFileRow.table_id == table_id, CdcFileRow.status == FileStatus.PROCESSED)
            )
            or 0
        )
        last = s.scalar(select(func.max(CdcFileRow.processed_at)).where(CdcFileRow.table_id == table_id))
        oldest_pending = s.scalar(
            select(func.min(CdcFileRow.landed_at)).where(
                CdcFileRow.table_id == table_id,
                CdcFileRow.status.in_((FileStatus.PENDING, FileStatus.FAILED, FileStatus.QUARANTINED)),
            )
        )
    lag = None
    if oldest_pending is not None:
        lag = (now - (oldest_pending if oldest_pending.tzinfo else oldest_pending.replace(tzinfo=UTC))).total_seconds()
    elif last is not None:
        lag = 0.0
    return int(processed), lag


def _tracked_key_note(data: pa.Table | None, tracked: dict[str, Any] | None) -> str:
    """A mismatch note when the dataset's tracked key is not exactly one row with its final fare
    (``data``: the table's rows, None when it has none)."""
    import pyarrow.compute as pc

    if not tracked or data is None:
        return ""
    hit = data.filter(pc.equal(data.column("trip_id"), tracked["trip_id"]))
    if hit.num_rows != 1 or hit.column("fare_amount")[0].as_py() != tracked["fare_amount"]:
        return f"key {tracked['trip_id']}: expected one row with fare {tracked['fare_amount']}"
    return ""


def summary(checks: list[TableCheck]) -> dict[str, Any]:
    return {
        "tables": len(checks),
        "ok": sum(c.ok for c in checks),
        "rows_expected": sum(c.expected_rows for c in checks),
        "rows_actual": sum(c.actual_rows for c in checks),
        "catalog_in_step": sum(c.catalog.startswith("in step") for c in checks),
    }
