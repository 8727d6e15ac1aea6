"""The table-run core's public API (claim → engine → record / fail → release) on a real metadata
DB (SQLite; PostgreSQL too when the private cluster runs) with real DMS files and real Hudi
commits by the embedded engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.cdc_factory import DmsFolder
from tests.integration.processing.conftest import write_config
from tributary.cdc import apply as apply_module
from tributary.config.models import RawTable
from tributary.config.service import apply_paths, load_db_config
from tributary.errors import CdcFileError, LeaseLostError
from tributary.files.registry import register, sweep_table_files
from tributary.hudi import HudiTable
from tributary.locks.lease import acquire
from tributary.metadata.db import session_scope
from tributary.metadata.models import (
    AlertOutboxRow,
    CdcFileRow,
    FileStatus,
    ProcessingRunHistoryRow,
    ProcessingRunRow,
    RunStatus,
    TableLockRow,
)
from tributary.processing.claim import Claim, claim, release, resume
from tributary.processing.context import RunContext
from tributary.processing.outcome import OutcomeStatus, TableOutcome
from tributary.processing.processor import EmbeddedEngine, cdc_options
from tributary.processing.runs import fail, record

TABLE = "shop.t1"


@pytest.fixture
def home(migrated_db: str, tributary_home: Path) -> Path:
    apply_paths([write_config(tributary_home, 1)])
    return tributary_home


def _table() -> RawTable:
    return load_db_config().tables[TABLE]


def _land(home: Path) -> list[Path]:
    """A full load and two change files, written out of DMS order on purpose (CDC first)."""
    folder = DmsFolder(home / "staging/shop/t1")
    cdc1 = folder.cdc([{"Op": "U", "id": 1, "ts": 2, "amount": 10.0, "region": "eu"}])
    cdc2 = folder.cdc([{"Op": "D", "id": 2, "ts": 3, "amount": 2.0, "region": "us"}])
    load = folder.load([{"id": i, "ts": 1, "amount": float(i), "region": "eu"} for i in range(5)])
    config = load_db_config()
    with session_scope() as s:
        register(s, sweep_table_files(config.tables[TABLE]), config.tables.values())
    return [load, cdc1, cdc2]


def _claim(holder: str = "w1", **kwargs: Any) -> tuple[EmbeddedEngine, Claim[HudiTable] | TableOutcome]:
    table = _table()
    engine = EmbeddedEngine(cdc_options(table))
    return engine, claim(table, holder, engine, RunContext(task_id="t"), **kwargs)


def _statuses() -> dict[str, str]:
    with session_scope() as s:
        return {r.relative_path or "": r.status for r in s.scalars(select(CdcFileRow))}


def _lock() -> TableLockRow:
    with session_scope() as s:
        row = s.get(TableLockRow, TABLE)
        assert row is not None
        return row


def test_claim_apply_record_release(home: Path) -> None:
    landed = _land(home)
    engine, held = _claim()
    assert isinstance(held, Claim)
    # the files in DMS order (the load first), the lease held, a running run, no checkpoint yet
    assert [f.path for f in held.files] == [p.name for p in landed]
    assert _lock().holder == "w1" and _lock().token == held.lease.token
    assert held.checkpoint.empty and held.timeline is None and not held.rebuild
    with session_scope() as s:
        run = s.get(ProcessingRunRow, held.run_id)
        assert run is not None and run.status == RunStatus.RUNNING and run.files == held.uris

    outcome = record(held, engine.applied(held))
    release(held)

    assert outcome.status == OutcomeStatus.COMPLETED and outcome.run_id == held.run_id
    # one commit folds the changes into the load: 5 rows, id 1 updated, id 2 deleted
    assert (outcome.inserted, outcome.updated, outcome.deleted) == (4, 0, 0)
    assert outcome.instant is not None and outcome.files == held.uris
    assert set(_statuses().values()) == {FileStatus.PROCESSED}
    assert _lock().holder is None and not held.keeper.running
    with session_scope() as s:
        run = s.get(ProcessingRunRow, held.run_id)
        assert run is not None and run.status == RunStatus.COMPLETED and run.commit_instant == outcome.instant
        history = [h.status for h in s.scalars(select(ProcessingRunHistoryRow).order_by(ProcessingRunHistoryRow.at))]
        assert history == [RunStatus.RUNNING, RunStatus.COMPLETED]
        assert {r.commit_instant for r in s.scalars(select(CdcFileRow))} == {outcome.instant}
    # nothing left: the next claim is idle and takes no lease
    token = _lock().token
    assert _claim()[1] == TableOutcome(TABLE, OutcomeStatus.IDLE)
    assert _lock().token == token


def test_the_checkpoint_is_read_once_per_table_run(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _land(home)
    engine, first = _claim()
    assert isinstance(first, Claim)
    record(first, engine.applied(first))
    release(first)
    later = DmsFolder(home / "staging/shop/t1")
    later._cdc_counter = 2  # after the two change files applied
    later.cdc([{"Op": "I", "id": 9, "ts": 9, "amount": 9.0, "region": "eu"}])
    _land_again()

    reads: list[str] = []
    real = apply_module.read_checkpoint

    def counting(table: Any, latest: Any = None) -> Any:
        reads.append(repr(table))
        return real(table, latest)

    monkeypatch.setattr(apply_module, "read_checkpoint", counting)
    engine, second = _claim()
    assert isinstance(second, Claim)
    assert not second.checkpoint.empty and {f.path for f in first.files} <= set(second.checkpoint.ledger)
    outcome = record(second, engine.applied(second))
    release(second)
    assert outcome.status == OutcomeStatus.COMPLETED and outcome.inserted == 1
    assert len(reads) == 1  # the claim's read, shared by reconcile and the engine


def _land_again() -> None:
    config = load_db_config()
    with session_scope() as s:
        register(s, sweep_table_files(config.tables[TABLE]), config.tables.values())


def test_a_commit_the_tracker_missed_is_reconciled_by_the_next_claim(home: Path) -> None:
    _land(home)
    engine, held = _claim()
    assert isinstance(held, Claim)
    applied = engine.applied(held)  # the Hudi commit lands; the worker dies before recording
    held.keeper.stop()
    with session_scope() as s:  # ... and its lease expires
        s.execute(update(TableLockRow).values(expires_at=TableLockRow.acquired_at))

    _, again = _claim("w2")
    assert again == TableOutcome(TABLE, OutcomeStatus.IDLE, reconciled=3)
    assert set(_statuses().values()) == {FileStatus.PROCESSED}
    with session_scope() as s:
        assert {r.commit_instant for r in s.scalars(select(CdcFileRow))} == {applied.instant}
    assert _lock().holder is None


def test_busy_and_blocked_claims_leave_the_lease_as_they_found_it(home: Path) -> None:
    _land(home)
    other = acquire(TABLE, "other")
    assert other is not None
    _, busy = _claim()
    assert isinstance(busy, TableOutcome) and busy.status == OutcomeStatus.BUSY
    assert _lock().holder == "other" and _lock().token == other.token

    with session_scope() as s:
        s.execute(update(TableLockRow).values(holder=None, expires_at=None))
        row = s.scalars(select(CdcFileRow).order_by(CdcFileRow.file_id)).first()
        assert row is not None
        row.status = FileStatus.QUARANTINED
    _, blocked = _claim()
    assert isinstance(blocked, TableOutcome) and blocked.status == OutcomeStatus.BLOCKED
    assert "quarantined file" in (blocked.error or "") and "tributary files retry" in (blocked.error or "")
    assert _lock().holder is None
    with session_scope() as s:
        assert s.scalars(select(ProcessingRunRow)).first() is None


def test_record_refuses_a_lost_lease_and_marks_nothing(home: Path) -> None:
    _land(home)
    engine, held = _claim(heartbeat=False)
    assert isinstance(held, Claim)
    applied = engine.applied(held)
    with session_scope() as s:  # an operator freed the lease, another worker took it
        s.execute(update(TableLockRow).values(holder=None, expires_at=None))
    assert acquire(TABLE, "usurper") is not None
    with pytest.raises(LeaseLostError, match="taken over"):
        record(held, applied)
    assert set(_statuses().values()) == {FileStatus.PENDING}
    release(held)
    assert _lock().holder == "usurper"


def test_fail_counts_the_attempt_against_the_named_file_and_queues_the_alert(home: Path) -> None:
    landed = _land(home)
    _, held = _claim(heartbeat=False)
    assert isinstance(held, Claim)
    outcome = fail(held, CdcFileError(landed[1].name, "bad bytes"))
    release(held)
    assert outcome.status == OutcomeStatus.FAILED and outcome.failed
    assert landed[1].name in (outcome.error or "") and outcome.run_id == held.run_id
    with session_scope() as s:
        rows = {r.relative_path: r for r in s.scalars(select(CdcFileRow))}
        assert rows[landed[1].name].status == FileStatus.FAILED and rows[landed[1].name].attempts == 1
        assert {rows[p.name].attempts for p in (landed[0], landed[2])} == {0}
        run = s.get(ProcessingRunRow, held.run_id)
        assert run is not None and run.status == RunStatus.FAILED and "bad bytes" in (run.error or "")
        assert len(list(s.scalars(select(AlertOutboxRow)))) == 1


def test_a_claim_resumed_from_its_state_records_in_another_process(home: Path) -> None:
    """What the Spark engine does across two Airflow tasks: the state goes through JSON."""
    _land(home)
    engine, held = _claim(heartbeat=False)
    assert isinstance(held, Claim)
    state = json.loads(json.dumps(held.to_state()))
    applied = engine.applied(held)

    resumed = resume(_table(), state, RunContext(task_id="record"), held.keeper.ttl)
    assert [r.file_id for r in resumed.rows] == [r.file_id for r in held.rows]
    assert resumed.lease.token == held.lease.token and resumed.run_id == held.run_id
    outcome = record(resumed, applied)
    release(resumed)
    assert outcome.status == OutcomeStatus.COMPLETED and outcome.files == held.uris
    assert set(_statuses().values()) == {FileStatus.PROCESSED} and _lock().holder is None


def test_the_one_serializer_bounds_the_task_form_and_keeps_everything_in_full() -> None:
    outcome = TableOutcome(
        TABLE, OutcomeStatus.FAILED, files=[f"f{i}" for i in range(150)], error="x" * 5000, run_id=7, seconds=1.5
    )
    short = outcome.to_dict()
    assert short["status"] == "failed" and type(short["status"]) is str
    assert len(short["files"]) == 100 and len(short["error"]) == 1000 and "run_id" not in short
    full = json.loads(json.dumps(outcome.to_dict(full=True)))
    assert len(full["files"]) == 150 and len(full["error"]) == 5000
    assert (full["run_id"], full["seconds"], full["table_id"]) == (7, 1.5, TABLE)
    assert TableOutcome(TABLE, OutcomeStatus.IDLE).to_dict()["error"] is None
