"""The maintenance cleaner keeps the retention each table configured (``options.
cleaner_commits_retained``, or its Hudi spelling), and the local engine cleans to the same
retention after each write; the table reads back the same with hudi-rs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.cdc_factory import DmsFolder, completed_commits, snapshot_rows
from tributary.config.service import apply_paths, load_db_config
from tributary.dagfactory.maintenance import clean_tables_step
from tributary.files.registry import register, sweep_table_files
from tributary.metadata.db import session_scope
from tributary.processing.batches import process_batch

pytestmark = [pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

COMMITS = 5


def _base_files(target: Path) -> list[str]:
    return sorted(p.name for p in target.rglob("*.parquet") if ".hoodie" not in p.parts)


def _commit_waves(home: Path, table_ids: list[str]) -> None:
    """COMMITS commits per table, each rewriting its one file group (one new file slice each)."""
    folders = {t: DmsFolder(home / "staging/shop" / t.split(".")[1]) for t in table_ids}
    for wave in range(COMMITS):
        for folder in folders.values():
            folder.cdc([{"Op": "U", "id": 1, "ts": wave, "amount": float(wave)}])
        config = load_db_config()
        with session_scope() as s:
            for table_id in table_ids:
                register(s, sweep_table_files(config.tables[table_id]), config.tables.values())
        assert process_batch(table_ids, config=config).failed == []


def _set_options(path: Path, options: dict[str, dict[str, object]]) -> None:
    doc = yaml.safe_load(path.read_text())
    for row in doc["raw_tables"]:
        row["options"] = options.get(row["table_name"], {})
    path.write_text(yaml.safe_dump(doc))
    apply_paths([path])


def test_maintenance_cleans_each_table_to_its_configured_retention(configure: Callable[..., Path]) -> None:
    home = configure(3)
    path = home / "config.yaml"
    tables = ["shop.t1", "shop.t2", "shop.t3"]
    _commit_waves(home, tables)  # written with the default retention (10): nothing cleaned yet
    targets = {t: home / "lake/shop" / t.split(".")[1] for t in tables}
    assert {t: len(_base_files(p)) for t, p in targets.items()} == dict.fromkeys(tables, COMMITS)
    rows = {t: snapshot_rows(p, ["id", "amount"], ["id"]) for t, p in targets.items()}

    # the retention is lowered: the typed option, its Hudi spelling, and the default
    _set_options(path, {"t1": {"cleaner_commits_retained": 2}, "t2": {"hoodie.cleaner.commits.retained": "1"}})
    cleaned = clean_tables_step()

    # KEEP_LATEST_COMMITS n: the file slices of the n newest commits and the one before them
    kept = {t: len(_base_files(p)) for t, p in targets.items()}
    assert kept == {"shop.t1": 3, "shop.t2": 2, "shop.t3": COMMITS}
    assert cleaned == {"shop.t1": 2, "shop.t2": 3, "shop.t3": 0}
    for table_id, target in targets.items():
        assert snapshot_rows(target, ["id", "amount"], ["id"]) == rows[table_id] == [{"id": 1, "amount": 4.0}]
        assert len(completed_commits(target)) >= COMMITS


def test_local_engine_cleans_to_the_configured_retention_after_each_write(configure: Callable[..., Path]) -> None:
    home = configure(2)
    _set_options(home / "config.yaml", {"t1": {"cleaner_commits_retained": 2}})
    _commit_waves(home, ["shop.t1", "shop.t2"])
    assert len(_base_files(home / "lake/shop/t1")) == 3
    assert len(_base_files(home / "lake/shop/t2")) == COMMITS  # default 10: nothing to clean yet
    assert clean_tables_step() == {"shop.t1": 0, "shop.t2": 0}
