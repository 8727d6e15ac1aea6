"""A generated metadata DB for the ops views' tests and ``tributary bench ops``: N tables over
three cadences with a day of runs (commits with I/U/D counts, failures, quarantined and pending
files, leases), written with bulk inserts, plus what each figure should be, computed here in
Python from the generated rows (independently of the API's SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from tributary.metadata.models import (
    Base,
    CdcFileRow,
    FileStatus,
    FlowRow,
    FlowTaskRow,
    ProcessingRunRow,
    RawTableRow,
    RefreshCadenceRow,
    RunStatus,
    TableLockRow,
    TemplateRow,
)
from tributary.ops.params import TableState

CADENCES = {"synth_q30": ("*/30 * * * *", 30), "synth_hourly": ("0 * * * *", 60), "synth_daily": ("0 3 * * *", 1440)}
QUARANTINE_REASON = "corrupt parquet footer (synthetic)"


def _table(model: type[Base]) -> Table:
    """The Core table behind a model (a bulk insert of plain dicts, without the ORM)."""
    return cast(Table, model.__table__)


def table_id(i: int) -> str:
    return f"synth{i % 10}.t{i:05d}"


def cadence_of(i: int) -> str:
    return list(CADENCES)[i % 3]


@dataclass
class Expected:
    """Figures the generated rows imply, for tests to compare the API with."""

    states: dict[str, str] = field(default_factory=dict)
    last_applied: dict[str, datetime | None] = field(default_factory=dict)
    commits: dict[str, int] = field(default_factory=dict)
    pending_files: int = 0
    pending_bytes: int = 0
    rows_by_hour: dict[str, list[int]] = field(default_factory=dict)
    failed_by_hour: dict[str, int] = field(default_factory=dict)
    cycles: dict[str, dict[str, tuple[datetime, datetime]]] = field(default_factory=dict)

    def add_cycle(self, cadence: str, dag_run_id: str, start: datetime, end: datetime) -> None:
        runs = self.cycles.setdefault(cadence, {})
        s, e = runs.get(dag_run_id, (start, end))
        runs[dag_run_id] = (min(s, start), max(e, end))


def _fires(cadence: str, now: datetime) -> list[datetime]:
    minutes = CADENCES[cadence][1]
    if minutes == 1440:
        first = now.replace(hour=3, minute=0, second=0, microsecond=0)
        return [first if first < now else first - timedelta(days=1)][:1]
    start = (now - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    out, t = [], start
    while t < now:
        out.append(t)
        t += timedelta(minutes=minutes)
    return out


def _config_rows(session: Session, n: int) -> None:
    if session.get(TemplateRow, "cdc_to_hudi") is None:
        session.add(TemplateRow(template_id="cdc_to_hudi", kind="cdc_to_hudi", params_schema={}))
    for cad, (schedule, _) in CADENCES.items():
        session.add(RefreshCadenceRow(cadence_id=cad, schedule=schedule, batch_size=50))
        # disabled: a live stack must not build DAGs that would process the generated tables
        session.add(FlowRow(flow_id=cad, dag_id=f"tributary__{cad}", owner="synth", schedule=schedule, enabled=False))
    session.flush()
    for cad in CADENCES:
        session.add(
            FlowTaskRow(
                flow_id=cad, task_id="apply_cdc", position=0, template_id="cdc_to_hudi", params={"cadence": cad}
            )
        )
    session.execute(
        insert(_table(RawTableRow)),
        [
            {
                "table_id": table_id(i),
                "source_schema": table_id(i).split(".")[0],
                "source_table": f"t{i:05d}",
                "staging_prefix": f"staging/synth/t{i:05d}",
                "target_uri": f"lake/synth/t{i:05d}",
                "database_name": f"raw_synth{i % 10}",
                "table_name": f"t{i:05d}",
                "record_key_fields": ["id"],
                "precombine_field": "ts",
                "refresh_cadence": cadence_of(i),
                "active": i % 500 != 42,
            }
            for i in range(n)
        ],
    )


def _table_runs(i: int, now: datetime, exp: Expected) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs and files of table i; fills ``exp`` with what they imply."""
    tid, cad = table_id(i), cadence_of(i)
    runs: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    last_status, applied, commits = None, None, 0
    fires = [] if i % 250 == 99 else _fires(cad, now)
    for k, fire in enumerate(fires):
        start = fire + timedelta(seconds=(i // 3) % 600)
        end = start + timedelta(seconds=4 + i % 5)
        if end >= now:
            continue
        failed = (i % 100 == 13 and k == len(fires) - 1) or (i % 50 == 1 and k % 8 == 0)
        dag_run = f"scheduled__{fire.isoformat()}"
        run = _run_row(i, k, dag_run, start, end, failed=failed)
        runs.append(run)
        exp.add_cycle(cad, dag_run, start, end)
        hour = end.strftime("%Y-%m-%d %H")
        if failed:
            key = start.strftime("%Y-%m-%d %H")
            exp.failed_by_hour[key] = exp.failed_by_hour.get(key, 0) + 1
        else:
            counts = exp.rows_by_hour.setdefault(hour, [0, 0, 0])
            for j, col in enumerate(("inserted", "updated", "deleted")):
                counts[j] += run[col]
            applied, commits = end, commits + 1
        last_status = run["status"]
        files.append(
            _file(
                tid,
                k,
                fire - timedelta(seconds=60),
                1000 + i,
                FileStatus.FAILED if failed else FileStatus.PROCESSED,
                end,
            )
        )
    if i % 100 == 7:
        files.append(
            _file(tid, 90000, now - timedelta(minutes=50), 777, FileStatus.QUARANTINED, None, QUARANTINE_REASON)
        )
    if i % 10 == 3 or i % 250 == 99:
        for m in (20, 5):
            files.append(_file(tid, 90000 + m, now - timedelta(minutes=m), 5000, FileStatus.PENDING, None))
    waiting = [f for f in files if f["status"] in (FileStatus.PENDING, FileStatus.FAILED, FileStatus.QUARANTINED)]
    exp.pending_files += len(waiting)
    exp.pending_bytes += sum(f["size_bytes"] for f in waiting)
    exp.states[tid] = _state(i, files, last_status)
    exp.last_applied[tid], exp.commits[tid] = applied, commits
    return runs, files


def _run_row(i: int, k: int, dag_run: str, start: datetime, end: datetime, *, failed: bool) -> dict[str, Any]:
    """The k-th processing run of table i (a dict for a Core bulk insert)."""
    tid, cad = table_id(i), cadence_of(i)
    return {
        "table_id": tid,
        "status": RunStatus.FAILED if failed else RunStatus.COMPLETED,
        "dag_id": f"tributary__{cad}",
        "dag_run_id": dag_run,
        "task_id": "process_batch",
        "holder": f"worker-{i % 4}",
        "started_at": start,
        "finished_at": end,
        "inserted": 0 if failed else 10 + i % 7,
        "updated": 0 if failed else k % 5,
        "deleted": 0 if failed else int(k % 4 == 0),
        "files": [f"{tid}/{k:05d}.parquet"],
        "commit_instant": None if failed else end.strftime("%Y%m%d%H%M%S%f")[:17],
        "error": f"synthetic failure in {tid} run {k}" if failed else None,
    }


def _state(i: int, files: list[dict[str, Any]], last_status: str | None) -> TableState:
    if i % 500 == 42:
        return TableState.INACTIVE
    if any(f["status"] == FileStatus.QUARANTINED for f in files):
        return TableState.BLOCKED
    if last_status == RunStatus.FAILED:
        return TableState.FAILING
    waiting = any(f["status"] in (FileStatus.PENDING, FileStatus.FAILED) for f in files)
    return TableState.BACKLOG if waiting else TableState.OK


def _file(
    tid: str, k: int, at: datetime, size: int, status: str, done: datetime | None, reason: str | None = None
) -> dict[str, Any]:
    name = f"{k:05d}.parquet"
    return {
        "uri": f"file:///synth/{tid}/{name}",
        "version_key": "v1",
        "table_id": tid,
        "size_bytes": size,
        "landed_at": at,
        "registered_at": at,
        "order_key": name,
        "relative_path": name,
        "file_kind": "cdc",
        "file_format": "parquet",
        "status": status,
        "attempts": 1 if status in (FileStatus.FAILED, FileStatus.QUARANTINED) else 0,
        "reason": reason or (f"synthetic failure in {tid}" if status == FileStatus.FAILED else None),
        "processed_at": done if status == FileStatus.PROCESSED else None,
    }


def generate(session: Session, tables: int, now: datetime) -> Expected:
    """Write ``tables`` tables with a day of runs ending at ``now`` into an empty-of-synth DB."""
    if session.scalar(select(RefreshCadenceRow.cadence_id).where(RefreshCadenceRow.cadence_id == "synth_q30")):
        raise ValueError("the synthetic tables are already in this DB")
    _config_rows(session, tables)
    exp = Expected()
    runs: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    for i in range(tables):
        r, f = _table_runs(i, now, exp)
        runs += r
        files += f
        if len(runs) > 20000:
            session.execute(insert(_table(ProcessingRunRow)), runs)
            runs = []
    if runs:
        session.execute(insert(_table(ProcessingRunRow)), runs)
    for start in range(0, len(files), 20000):
        session.execute(insert(_table(CdcFileRow)), files[start : start + 20000])
    leases = [
        {
            "table_id": table_id(i),
            "holder": f"worker-{i}",
            "token": 3,
            "acquired_at": now,
            "expires_at": now + timedelta(hours=2),
        }
        for i in range(tables)
        if i % 100 == 5
    ]
    if leases:
        session.execute(insert(_table(TableLockRow)), leases)
    return exp
