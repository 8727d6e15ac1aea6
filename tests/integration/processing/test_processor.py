"""The processor on SQLite and PostgreSQL with real Hudi tables read back by hudi-rs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cdc_factory import DmsFolder, Oracle, snapshot_rows
from tests.conftest import run_cli
from tributary.cdc.apply import apply_files
from tributary.config.service import load_db_config
from tributary.files.registry import as_cdc_file, register, sweep_table_files
from tributary.metadata.db import session_scope
from tributary.metadata.models import AlertOutboxRow, CdcFileRow, ProcessingRunHistoryRow, ProcessingRunRow
from tributary.processing.batches import plan_batches, process_batch, process_cadence
from tributary.processing.processor import cdc_options

COLUMNS = ["id", "ts", "amount", "region"]


def rows(ids: range | list[int], ts: int, op: str | None = None, amount: float = 1.0) -> list[dict]:
    out = []
    for i in ids:
        row = {"id": i, "ts": ts, "amount": amount * i, "region": "eu" if i % 2 else "us"}
        if op:
            row = {"Op": op, **row}
        out.append(row)
    return out


def register_all(home: Path) -> None:
    config = load_db_config()
    with session_scope() as s:
        for table in config.tables.values():
            register(s, sweep_table_files(table), config.tables.values())


def test_batches_follow_the_cadence(configure: Callable[..., Path]) -> None:
    configure(7, batch_size=3)
    assert plan_batches("fast") == [["shop.t1", "shop.t2", "shop.t3"], ["shop.t4", "shop.t5", "shop.t6"], ["shop.t7"]]


def test_cadence_run_applies_files_once_and_records_history(configure: Callable[..., Path]) -> None:
    home = configure(3, batch_size=2)
    oracles = {}
    for t in (1, 2, 3):
        folder = DmsFolder(home / f"staging/shop/t{t}")
        oracle = Oracle(["id"], "ts")
        load = rows(range(20), ts=1)
        cdc1 = rows([1, 2], ts=2, op="U", amount=10) + rows([3], ts=2, op="D") + rows([100], ts=2, op="I")
        folder.load(load)
        folder.cdc(cdc1)
        oracle.apply_run([load, cdc1])
        oracles[t] = oracle
    register_all(home)

    result = process_cadence("fast")
    assert result.failed == []
    assert {o.status for o in result.tables.values()} == {"completed"}
    # one commit: 20 loaded rows, key 3 deleted before it was ever written, key 100 inserted
    assert result.tables["shop.t1"].inserted == 20
    for t, oracle in oracles.items():
        target = home / f"lake/shop/t{t}"
        assert snapshot_rows(target, COLUMNS, ["id"]) == oracle.snapshot(COLUMNS)

    # a second run finds nothing to do and writes no commit
    again = process_cadence("fast")
    assert {o.status for o in again.tables.values()} == {"idle"}

    with session_scope() as s:
        files = s.scalars(select(CdcFileRow)).all()
        assert len(files) == 6 and {f.status for f in files} == {"processed"}
        assert all(f.commit_instant for f in files)
        runs = s.scalars(select(ProcessingRunRow)).all()
        assert len(runs) == 3 and {r.status for r in runs} == {"completed"}
        history = s.scalars(select(ProcessingRunHistoryRow)).all()
        assert sorted(h.status for h in history) == ["completed"] * 3 + ["running"] * 3

    code, out, _ = run_cli("runs", "list")
    assert code == 0 and out.count("completed") == 3


def test_crash_between_commit_and_db_update_is_reconciled(configure: Callable[..., Path]) -> None:
    home = configure(1)
    folder = DmsFolder(home / "staging/shop/t1")
    folder.load(rows(range(10), ts=1))
    folder.cdc(rows([1], ts=2, op="U", amount=7))
    register_all(home)
    table = load_db_config().tables["shop.t1"]
    # what a worker did before it died: the Hudi commit landed, the DB never heard of it
    with session_scope() as s:
        tracked = [as_cdc_file(r) for r in s.scalars(select(CdcFileRow).order_by(CdcFileRow.order_key))]
    first = apply_files(str(home / "lake/shop/t1"), tracked, cdc_options(table))
    assert first.inserted == 10

    result = process_batch(["shop.t1"])
    outcome = result.tables["shop.t1"]
    assert outcome.status == "idle" and outcome.reconciled == 2
    with session_scope() as s:
        files = s.scalars(select(CdcFileRow)).all()
        assert {f.status for f in files} == {"processed"}
        assert {f.commit_instant for f in files} == {first.instant}
        assert s.scalars(select(ProcessingRunRow)).all() == []  # nothing was applied again
    from tests.cdc_factory import completed_commits

    assert len(completed_commits(home / "lake/shop/t1")) == 1


def test_bad_file_is_retried_then_quarantined_and_blocks_its_table(
    configure: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIBUTARY_MAX_FILE_ATTEMPTS", "2")
    from tributary.settings import get_settings

    get_settings.cache_clear()
    home = configure(2)
    good = DmsFolder(home / "staging/shop/t2")
    good.load(rows(range(5), ts=1))
    bad = DmsFolder(home / "staging/shop/t1")
    bad.load(rows(range(5), ts=1))
    corrupt = bad.cdc(rows([1], ts=2, op="U"))
    corrupt.write_bytes(corrupt.read_bytes()[:40])  # truncated mid-file
    later = bad.cdc(rows([2], ts=3, op="U", amount=9))
    register_all(home)

    first = process_cadence("fast")
    assert first.failed == ["shop.t1"]
    assert first.tables["shop.t2"].status == "completed"  # the other table went on
    assert corrupt.name in (first.tables["shop.t1"].error or "")
    second = process_cadence("fast")
    assert second.failed == ["shop.t1"] and "quarantined" in (second.tables["shop.t1"].error or "")
    third = process_cadence("fast")
    assert third.blocked == ["shop.t1"] and third.failed == []

    with session_scope() as s:
        by_name = {Path(f.uri).name: f for f in s.scalars(select(CdcFileRow).where(CdcFileRow.table_id == "shop.t1"))}
        assert by_name[corrupt.name].status == "quarantined" and by_name[corrupt.name].attempts == 2
        assert "Parquet" in (by_name[corrupt.name].reason or "")
        assert by_name[later.name].status == "pending"  # waits behind the quarantined file
        assert by_name["LOAD00000001.parquet"].status == "pending"  # the whole failed commit was not applied
        alerts = s.scalars(select(AlertOutboxRow)).all()
        assert alerts and all("shop.t1" in a.subject for a in alerts)
        bad_id = by_name[corrupt.name].file_id

    code, out, _ = run_cli("files", "skip", str(bad_id))
    assert code == 0 and "skipped" in out
    fourth = process_cadence("fast")
    assert fourth.tables["shop.t1"].status == "completed"
    snap = {r["id"]: r for r in snapshot_rows(home / "lake/shop/t1", COLUMNS, ["id"])}
    assert len(snap) == 5 and snap[2]["amount"] == 18.0 and snap[1]["amount"] == 1.0

    code, _, err = run_cli("files", "retry", "999999")
    assert code == 1 and "not tracked" in err


def test_unconfigured_file_and_broken_table_row(configure: Callable[..., Path]) -> None:
    home = configure(2)
    (home / "staging/elsewhere").mkdir(parents=True)
    stray = home / "staging/elsewhere/20260101-0000000001.parquet"
    stray.write_bytes(b"x")
    DmsFolder(home / "staging/shop/t1").load(rows(range(3), ts=1))
    code, out, _ = run_cli("files", "register", str(home / "staging"))
    assert code == 0 and "1 registered" in out and "1 unmatched" in out
    code, out, _ = run_cli("files", "register", str(stray))
    assert "1 already known" in out  # the same object reported twice registers once
    with session_scope() as s:
        unmatched = s.scalars(select(CdcFileRow).where(CdcFileRow.status == "unmatched")).one()
        assert unmatched.table_id is None and "staging_prefix" in (unmatched.reason or "")

    from tributary.metadata.db import get_engine

    with get_engine().begin() as conn:
        from sqlalchemy import text

        conn.execute(text("UPDATE raw_tables SET precombine_field = 'bad column!' WHERE table_id = 'shop.t2'"))
    result = process_batch(["shop.t1", "shop.t2"])
    assert result.tables["shop.t1"].status == "completed"
    assert result.failed == ["shop.t2"]
    assert "precombine_field" in (result.tables["shop.t2"].error or "")


def test_cli_process_reports_and_exits_nonzero_on_failure(configure: Callable[..., Path]) -> None:
    home = configure(2)
    DmsFolder(home / "staging/shop/t1").load(rows(range(3), ts=1))
    broken = DmsFolder(home / "staging/shop/t2").load(rows(range(3), ts=1))
    broken.write_bytes(b"not parquet at all")
    code, out, err = run_cli("process", "--cadence", "fast")
    assert code == 1
    assert "shop.t2" in out and "failed" in out and "Traceback" not in out + err
    code, out, _ = run_cli("process", "--table", "shop.t1")
    assert code == 0 and "idle" in out
    code, _, err = run_cli("process", "--table", "shop.t9")
    assert code == 1 and "'shop.t9' is not configured" in err and "Traceback" not in err
    code, _, err = run_cli("process", "--table", "")  # an empty table name is a table, not "no --table"
    assert code == 1 and "table '' is not configured" in err and "Traceback" not in err


def test_reload_replaces_content_and_later_cdc_applies_after(configure: Callable[..., Path]) -> None:
    home = configure(1)
    folder = DmsFolder(home / "staging/shop/t1")
    folder.load(rows(range(10), ts=1))
    folder.cdc(rows([1], ts=2, op="U", amount=5))
    register_all(home)
    assert process_batch(["shop.t1"]).failed == []
    # DMS reloads the table: LOAD00000001 is rewritten with fewer rows, then new CDC follows
    import os
    import time

    time.sleep(0.01)
    reload = folder.load(rows(range(4), ts=3), counter=1)
    os.utime(reload, ns=(time.time_ns(), time.time_ns()))
    folder.cdc(rows([2], ts=4, op="U", amount=100))
    register_all(home)
    result = process_batch(["shop.t1"])
    assert result.failed == [], result.tables
    snap = {r["id"]: r for r in snapshot_rows(home / "lake/shop/t1", COLUMNS, ["id"])}
    assert sorted(snap) == [0, 1, 2, 3]
    assert snap[2]["amount"] == 200.0 and snap[1]["amount"] == 1.0


def test_naive_timestamps_in_later_files_match_the_table(configure: Callable[..., Path]) -> None:
    """DMS Parquet carries naive timestamps; the table stores them as UTC; later files still apply."""
    from datetime import datetime

    import pyarrow as pa

    home = configure(1)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("ts", pa.int64()),
            ("amount", pa.float64()),
            ("region", pa.string()),
            ("picked_up", pa.timestamp("us")),
        ]
    )
    folder = DmsFolder(home / "staging/shop/t1")
    at = datetime(2026, 11, 23, 8, 30)
    folder.load([{"id": 1, "ts": 1, "amount": 1.0, "region": "eu", "picked_up": at}], schema=schema)
    register_all(home)
    first = process_batch(["shop.t1"])
    assert first.tables["shop.t1"].status == "completed" and first.tables["shop.t1"].inserted == 1
    cdc_schema = pa.schema([("Op", pa.string()), *schema])
    folder.cdc([{"Op": "U", "id": 1, "ts": 2, "amount": 2.0, "region": "eu", "picked_up": at}], schema=cdc_schema)
    register_all(home)
    result = process_batch(["shop.t1"])
    assert result.failed == [], result.tables["shop.t1"].error
    [row] = snapshot_rows(home / "lake/shop/t1", ["id", "amount", "picked_up"], ["id"])
    assert row["amount"] == 2.0
    assert row["picked_up"].replace(tzinfo=None) == at
