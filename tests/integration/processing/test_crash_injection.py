"""Crash injection: SIGKILL the processor at random points, at least 100 trials, nothing lost or
applied twice; and a worker that lost its lease cannot commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cdc_factory import DmsFolder, completed_commits
from tributary.bench.chaos import run_chaos
from tributary.config.service import load_db_config
from tributary.faults import POINTS
from tributary.files.registry import register, sweep_table_files
from tributary.locks.lease import acquire, force_release
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, ProcessingRunRow
from tributary.processing import processor as processor_module
from tributary.processing.processor import TableProcessor


@pytest.mark.slow
def test_hundred_crash_trials_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    stats = run_chaos(100, tables=2, seed=11, workdir=tmp_path / "chaos")
    assert stats.trials == 100
    assert (stats.lost, stats.duplicated, stats.mismatched_tables, stats.unmarked) == (0, 0, 0, 0)
    assert stats.kills >= 60
    assert set(POINTS) <= set(stats.crash_points), stats.crash_points  # every named point was tried
    assert stats.races > 0


@pytest.mark.postgres
def test_chaos_on_postgres(tmp_path: Path) -> None:
    from tests.conftest import _require_postgres

    stats = run_chaos(12, tables=2, seed=5, db_url=_require_postgres(), workdir=tmp_path / "chaos")
    assert (stats.lost, stats.duplicated, stats.mismatched_tables, stats.unmarked) == (0, 0, 0, 0)
    assert stats.kills > 0


def test_worker_that_lost_its_lease_cannot_commit(
    configure: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = configure(1)
    DmsFolder(home / "staging/shop/t1").load([{"id": i, "ts": 1, "amount": 1.0, "region": "eu"} for i in range(5)])
    config = load_db_config()
    with session_scope() as s:
        register(s, sweep_table_files(config.tables["shop.t1"]), config.tables.values())

    real_apply = processor_module.apply_files

    def apply_after_takeover(*args: object, **kwargs: object) -> object:
        # the worker stalls; an operator frees the lease and another worker takes it over
        with session_scope() as s:
            force_release("shop.t1", s)
        assert acquire("shop.t1", "usurper", timedelta(seconds=60)) is not None
        return real_apply(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(processor_module, "apply_files", apply_after_takeover)
    outcome = TableProcessor(config.tables["shop.t1"], "stalled-worker").run()
    assert outcome.status == "failed"
    assert "taken over" in (outcome.error or "")
    assert not (home / "lake/shop/t1/.hoodie").exists() or completed_commits(home / "lake/shop/t1") == []
    with session_scope() as s:
        assert {f.status for f in s.scalars(select(CdcFileRow))} == {"pending"}
        run = s.scalars(select(ProcessingRunRow)).one()
        assert run.status == "failed" and "taken over" in (run.error or "")
