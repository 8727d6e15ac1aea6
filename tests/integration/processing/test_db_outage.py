"""The metadata DB (a real PostgreSQL database) goes away for a moment in the middle of a batch:
clear errors, the other tables continue, nothing is lost or applied twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from tests.cdc_factory import DmsFolder, completed_commits
from tests.conftest import _require_postgres
from tributary.config.service import load_db_config
from tributary.files.registry import register, sweep_table_files
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow
from tributary.processing import batches as batches_module
from tributary.processing import processor as processor_module
from tributary.processing.batches import process_batch


@pytest.mark.postgres
def test_db_outage_mid_batch(
    pg_configure: Callable[..., Path], pg_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = pg_db_url
    home = pg_configure(3)
    for t in (1, 2, 3):
        DmsFolder(home / f"staging/shop/t{t}").load(
            [{"id": i, "ts": 1, "amount": 2.0, "region": "eu"} for i in range(5)]
        )
    config = load_db_config()
    with session_scope() as s:
        for table in config.tables.values():
            register(s, sweep_table_files(table), config.tables.values())

    dbname = db_url.rsplit("/", 1)[1]
    admin = _require_postgres()

    def outage(seconds: float) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )

        def back() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')

        threading.Timer(seconds, back).start()

    real_apply = processor_module.apply_files
    cut = {"done": False}

    def apply_then_cut(target: str, *args: object, **kwargs: object) -> object:
        result = real_apply(target, *args, **kwargs)  # type: ignore[arg-type]
        if target.endswith("/t2") and not cut["done"]:
            cut["done"] = True
            outage(0.8)  # the Hudi commit landed; the DB update that follows fails
        return result

    monkeypatch.setattr(processor_module, "apply_files", apply_then_cut)
    monkeypatch.setattr(batches_module, "DB_RETRY_PAUSE_SECONDS", 1.5)
    result = process_batch(["shop.t1", "shop.t2", "shop.t3"], config=config)

    assert cut["done"]
    assert result.failed == [], {t: o.error for t, o in result.tables.items()}
    assert result.tables["shop.t1"].status == "completed"
    # t2's commit landed before the outage; the retry reconciled it instead of applying it again
    assert result.tables["shop.t2"].status == "idle" and result.tables["shop.t2"].reconciled == 1
    assert result.tables["shop.t3"].status == "completed"
    with session_scope() as s:
        assert {f.status for f in s.scalars(select(CdcFileRow))} == {"processed"}
    for t in (1, 2, 3):
        assert len(completed_commits(home / f"lake/shop/t{t}")) == 1
