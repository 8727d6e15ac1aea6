"""The processor whatever arrives (issue 16 findings 1, 4, 5, 9), on SQLite and PostgreSQL, read
back with hudi-rs: touched and re-uploaded files, late files below the checkpoint's floor,
arrival order across runs, an operator's reload, typed CSV precombine values, writer errors."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from tests.cdc_factory import DmsFolder, completed_commits, snapshot_rows
from tests.conftest import run_cli
from tributary.config.service import load_db_config
from tributary.files.registry import register, sweep_table_files
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, ConfigChangeRow, TableReloadRow
from tributary.processing import processor
from tributary.processing.batches import process_batch

COLS = ["id", "ts", "v"]


def _register(home: Path) -> list[str]:
    config = load_db_config()
    with session_scope() as s:
        regs = register(s, sweep_table_files(config.tables["shop.t1"]), config.tables.values())
        return [r.status for r in regs]


def _run(**kwargs: object) -> processor.TableOutcome:
    return process_batch(["shop.t1"], **kwargs).tables["shop.t1"]  # type: ignore[arg-type]


def _rows(home: Path) -> list[dict]:
    return snapshot_rows(home / "lake/shop/t1", COLS, ["id"])


def _files(status: str | None = None) -> list[CdcFileRow]:
    with session_scope() as s:
        stmt = select(CdcFileRow).order_by(CdcFileRow.file_id)
        return [r for r in s.scalars(stmt) if status is None or r.status == status]


def test_touched_load_file_registers_once_and_replaces_nothing(configure: Callable[..., Path]) -> None:
    """Finding 1: `touch` an applied LOAD file; the CLI register is a no-op, the table keeps its CDC rows."""
    home = configure(1)
    dms = DmsFolder(home / "staging/shop/t1")
    load = dms.load([{"id": 1, "ts": 1, "v": "a"}, {"id": 2, "ts": 1, "v": "b"}])
    dms.cdc([{"Op": "U", "id": 1, "ts": 2, "v": "a2"}, {"Op": "I", "id": 3, "ts": 2, "v": "c"}])
    _register(home)
    assert _run().status == "completed"
    later = time.time_ns() + 10**10
    os.utime(load, ns=(later, later))
    code, _, _ = run_cli("files", "register", str(dms.root))
    assert code == 0
    assert _register(home) == ["duplicate", "duplicate"]
    assert _run().status == "idle"
    assert [(r["id"], r["v"]) for r in _rows(home)] == [(1, "a2"), (2, "b"), (3, "c")]
    assert len(_files()) == 2


def test_reupload_with_new_content_is_quarantined_naming_both_versions(configure: Callable[..., Path]) -> None:
    """Finding 5: a CDC file re-uploaded with new content is quarantined, never applied or skipped silently."""
    home = configure(1)
    dms = DmsFolder(home / "staging/shop/t1")
    dms.load([{"id": 1, "ts": 1, "v": "a"}])
    cdc = dms.cdc([{"Op": "U", "id": 1, "ts": 2, "v": "b"}])
    _register(home)
    _run()
    DmsFolder._write(
        cdc,
        [{"Op": "U", "id": 1, "ts": 9, "v": "EVIL"}, {"Op": "I", "id": 7, "ts": 9, "v": "x"}],
        "parquet",
        None,
        True,
    )
    assert _register(home) == ["duplicate", "registered"]
    outcome = _run()
    assert outcome.status == "completed"
    [bad] = _files("quarantined")
    assert bad.uri.endswith(cdc.name) and "re-uploaded with other content" in (bad.reason or "")
    assert (bad.reason or "").count("sha256") == 2
    assert _rows(home) == [{"id": 1, "ts": 2, "v": "b"}]
    assert _run().status == "blocked"  # the operator decides: skip it, or reload the table


def test_late_file_below_the_floor_is_applied(configure: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 4: more CDC files than the checkpoint keeps inline, then a late one among them."""
    original = processor.cdc_options
    monkeypatch.setattr(
        processor, "cdc_options", lambda t: original(t).__class__(**{**original(t).__dict__, "recent_files_kept": 3})
    )
    home = configure(1)
    dms = DmsFolder(home / "staging/shop/t1")
    paths = [dms.cdc([{"Op": "I", "id": n, "ts": n, "v": f"r{n}"}]) for n in range(1, 9)]
    late_bytes = paths[1].read_bytes()
    paths[1].unlink()
    _register(home)
    for _ in range(3):
        _run(max_files=3)
    paths[1].write_bytes(late_bytes)
    assert _register(home).count("registered") == 1
    outcome = _run()
    assert outcome.status == "completed" and [Path(u).name for u in outcome.files] == [paths[1].name]
    assert [r["id"] for r in _rows(home)] == list(range(1, 9))


def test_a_late_older_change_loses_to_the_stored_row_and_to_deletes(configure: Callable[..., Path]) -> None:
    """Finding 5: the newer change arrives first; a late file with older changes does not undo it,
    and a late load file does not bring back a deleted row."""
    home = configure(1)
    dms = DmsFolder(home / "staging/shop/t1")
    dms.load([{"id": 1, "ts": 1, "v": "a"}])
    late_load = dms.load([{"id": 2, "ts": 1, "v": "b"}])
    older = dms.cdc([{"Op": "U", "id": 1, "ts": 5, "v": "older"}])
    dms.cdc([{"Op": "U", "id": 1, "ts": 9, "v": "newest"}, {"Op": "D", "id": 2, "ts": 9, "v": "b"}])
    held = {p: p.read_bytes() for p in (late_load, older)}
    for p in held:
        p.unlink()
    _register(home)
    _run()
    for p, data in held.items():
        p.write_bytes(data)
    _register(home)
    assert _run().status == "completed"
    assert _rows(home) == [{"id": 1, "ts": 9, "v": "newest"}]


def test_operator_reload_rebuilds_the_table_and_is_audited(configure: Callable[..., Path]) -> None:
    home = configure(1)
    dms = DmsFolder(home / "staging/shop/t1")
    dms.load([{"id": 1, "ts": 1, "v": "a"}, {"id": 2, "ts": 1, "v": "b"}])
    dms.cdc([{"Op": "D", "id": 2, "ts": 2, "v": "b"}])
    _register(home)
    _run()
    code, _, err = run_cli("tables", "reload", "shop.t1")
    assert code == 0, err
    code, _, err = run_cli("tables", "reload", "no.such")
    assert code != 0 and "no.such" in err
    outcome = _run()
    assert outcome.status == "completed"
    commits = completed_commits(home / "lake/shop/t1")
    assert commits[-1]["action"] == "replacecommit" and len(commits) == 2
    assert _rows(home) == [{"id": 1, "ts": 1, "v": "a"}]
    with session_scope() as s:
        assert s.get(TableReloadRow, "shop.t1") is None
        audit = s.scalars(select(ConfigChangeRow).where(ConfigChangeRow.action == "reload_table")).all()
        assert [a.entity_id for a in audit] == ["shop.t1"]
    assert _run().status == "idle"


def test_csv_types_from_config_order_precombine_as_numbers(configure: Callable[..., Path]) -> None:
    """Finding 5: a config row types CSV columns (options.csv_types): ts 10 beats ts 9."""
    csv_table = {
        "source_schema": "shop",
        "source_table": "csvt",
        "staging_prefix": "staging/shop/csvt",
        "target_uri": "lake/shop/csvt",
        "database_name": "raw_shop",
        "table_name": "csvt",
        "record_key_fields": ["id"],
        "precombine_field": "ts",
        "refresh_cadence": "fast",
        "file_format": "csv",
        "csv_columns": ["id", "ts", "v"],
        "options": {"csv_types": "id=int64,ts=int64"},
    }
    home = configure(1, extra_tables=[csv_table])
    src = home / "staging/shop/csvt"
    src.mkdir(parents=True)
    (src / "20261123-0000000001.csv").write_text("I,1,10,ten\n")
    (src / "20261123-0000000002.csv").write_text("U,1,9,nine\n")
    config = load_db_config()
    with session_scope() as s:
        register(s, sweep_table_files(config.tables["shop.csvt"]), config.tables.values())
    assert process_batch(["shop.csvt"]).tables["shop.csvt"].status == "completed"
    assert snapshot_rows(home / "lake/shop/csvt", COLS, ["id"]) == [{"id": 1, "ts": 10, "v": "ten"}]


def test_writer_error_counts_against_the_file_and_quarantines_it(
    configure: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 9: an error the writer raises (a column differing only in case) names no file: the
    files are applied one by one, the attempt counts against the bad one, which is quarantined."""
    monkeypatch.setenv("TRIBUTARY_MAX_FILE_ATTEMPTS", "2")
    from tributary.settings import get_settings

    get_settings.cache_clear()
    home = configure(1)
    dms = DmsFolder(home / "staging/shop/t1")
    dms.load([{"id": 1, "ts": 1, "v": "a"}])
    _register(home)
    _run()
    good = dms.cdc([{"Op": "U", "id": 1, "ts": 2, "v": "a2"}])
    bad = dms.cdc([{"Op": "I", "id": 2, "ts": 3, "v": "b", "V": "clash"}])
    _register(home)
    first = _run()
    assert first.status == "failed" and bad.name in (first.error or "")
    assert _rows(home) == [{"id": 1, "ts": 2, "v": "a2"}]  # the good file went in on its own
    second = _run()
    assert second.status == "failed" and "quarantined" in (second.error or "")
    by_name = {Path(r.uri).name: r for r in _files()}
    assert by_name[bad.name].status == "quarantined" and by_name[bad.name].attempts == 2
    assert by_name[good.name].status == "processed"
    assert _run().status == "blocked"


def test_decimal_widening_the_writer_refuses_names_the_file(configure: Callable[..., Path]) -> None:
    """Finding 9: decimal(10,2) → decimal(12,4) fails early naming the file, counting an attempt."""
    from decimal import Decimal

    home = configure(1)
    dms = DmsFolder(home / "staging/shop/t1")
    narrow = pa.schema([("id", pa.int64()), ("ts", pa.int64()), ("v", pa.decimal128(10, 2))])
    dms.load([{"id": 1, "ts": 1, "v": Decimal("1.50")}], schema=narrow)
    _register(home)
    _run()
    wide = pa.schema([("Op", pa.string()), ("id", pa.int64()), ("ts", pa.int64()), ("v", pa.decimal128(12, 4))])
    bad = dms.cdc([{"Op": "U", "id": 1, "ts": 2, "v": Decimal("2.1234")}], schema=wide)
    _register(home)
    outcome = _run()
    assert outcome.status == "failed" and bad.name in (outcome.error or "")
    [row] = [r for r in _files() if r.uri.endswith(bad.name)]
    assert row.attempts == 1 and row.status == "failed"
    assert pq.read_schema(bad).field("v").type == pa.decimal128(12, 4)
