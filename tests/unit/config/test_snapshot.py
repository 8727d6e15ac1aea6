"""The config snapshot: table rows in a side file that DAG parsing never reads."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tributary.config.service import validate_paths
from tributary.config.snapshot import last_good_path, read_snapshot, write_snapshot
from tributary.dagfactory.loader import load_plan
from tributary.errors import SnapshotError


def config(tables: int) -> dict[str, Any]:
    return {
        "templates": [{"template_id": "cdc", "kind": "cdc_to_hudi"}],
        "refresh_cadences": [{"cadence_id": "c1", "schedule": "*/10 * * * *", "batch_size": 10}],
        "raw_tables": [
            {
                "source_schema": "s",
                "source_table": f"t{i:03d}",
                "staging_prefix": f"staging/s/t{i:03d}",
                "target_uri": f"lake/s/t{i:03d}",
                "database_name": "raw",
                "table_name": f"t{i:03d}",
                "record_key_fields": ["id"],
                "refresh_cadence": "c1",
            }
            for i in range(tables)
        ],
        "flows": [
            {
                "flow_id": "cdc",
                "owner": "team",
                "schedule": "*/10 * * * *",
                "tasks": [{"task_id": "apply", "template_id": "cdc", "params": {"cadence": "c1"}}],
            }
        ],
    }


def write(tmp_path: Path, tables: int) -> Path:
    source = tmp_path / f"config-{tables}.yaml"
    source.write_text(yaml.safe_dump(config(tables)))
    path = tmp_path / "snap" / "snapshot.json"
    write_snapshot(validate_paths([source]), path)
    return path


def side_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob("snapshot.tables-*.json"))


def test_table_rows_live_in_a_side_file_that_planning_never_reads(tmp_path: Path) -> None:
    path = write(tmp_path, 120)
    (side,) = side_files(path)
    doc = json.loads(path.read_text())
    assert doc["tables"] == {"file": side.name, "sha256": doc["tables"]["sha256"], "count": 120}
    assert len(doc["table_ids_by_cadence"]["c1"]) == 50 and doc["table_counts_by_cadence"] == {"c1": 120}

    side.unlink()  # DAG parsing: flows, templates and the table summary only
    plan, snap = load_plan(path)
    assert len(snap.tables) == 120  # the count, without the side file
    doc_md = plan.dags[0].doc_md
    assert "**Tables (cadence `c1`, 120):**" in doc_md and "`s.t049`" in doc_md and "`s.t050`" not in doc_md
    assert "and 70 more (all: `tributary tables list`)" in doc_md
    with pytest.raises(SnapshotError, match="table rows file"):
        snap.tables["s.t001"]


def test_tables_are_read_when_asked_and_a_mismatched_side_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 3)
    snap = read_snapshot(path)
    assert sorted(snap.tables) == ["s.t000", "s.t001", "s.t002"]
    assert list(snap.tables["s.t001"].record_key_fields) == ["id"]
    (side,) = side_files(path)
    side.write_text(side.read_text().replace("t001", "t999"))
    with pytest.raises(SnapshotError, match="does not match"):
        list(read_snapshot(path).tables)


def test_rewrites_keep_the_side_files_still_named_and_remove_older_ones(tmp_path: Path) -> None:
    path = write(tmp_path, 3)
    first = side_files(path)
    write(tmp_path, 3)  # same rows: same side file
    assert side_files(path) == first
    write(tmp_path, 4)
    for side in side_files(path):
        os.utime(side, (time.time() - 3600, time.time() - 3600))
    write(tmp_path, 5)
    names = {p.name for p in side_files(path)}
    assert json.loads(path.read_text())["tables"]["file"] in names
    assert first[0].name not in names and len(names) == 2  # the newest and the one before it
    write(tmp_path, 6)
    write(tmp_path, 7)  # the unnamed side file of 5 tables is younger than the grace period: kept
    assert len(side_files(path)) == 3
    assert len(read_snapshot(path).tables) == 7


def test_a_broken_snapshot_falls_back_to_the_last_good_one_and_its_tables(tmp_path: Path) -> None:
    path = write(tmp_path, 3)
    path.write_text('{"format": 2, "templates": ')
    snap = read_snapshot(path)
    assert snap.fallback_used and snap.path == last_good_path(path)
    assert sorted(snap.tables) == ["s.t000", "s.t001", "s.t002"]


def test_a_format_1_snapshot_with_inline_tables_still_reads(tmp_path: Path) -> None:
    path = write(tmp_path, 3)
    doc = json.loads(path.read_text())
    (side,) = side_files(path)
    doc["format"] = 1
    doc["tables"] = json.loads(side.read_text())["tables"]
    doc["table_ids_by_cadence"] = {"c1": sorted(doc["tables"])}
    del doc["table_counts_by_cadence"]
    side.unlink()
    path.write_text(json.dumps(doc))
    snap = read_snapshot(path)
    assert len(snap.tables) == 3 and snap.table_counts_by_cadence == {"c1": 3}
    assert snap.tables["s.t002"].table_name == "t002"


def test_rows_read_back_unchanged_skip_the_slow_checks_and_edited_rows_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from croniter import croniter

    path = write(tmp_path, 3)
    calls: list[str] = []
    real = croniter.is_valid
    monkeypatch.setattr(croniter, "is_valid", lambda expr, *a, **k: calls.append(expr) or real(expr, *a, **k))
    snap = read_snapshot(path)
    assert set(snap.flows) == {"cdc"} and calls == []  # digests match: no cron parsing at parse time

    doc = json.loads(path.read_text())
    doc["flows"]["cdc"]["schedule"] = "61 * * * *"  # a hand edit: validated in full, named as a problem
    path.write_text(json.dumps(doc))
    plan, snap = load_plan(path)
    assert set(calls) == {"61 * * * *"} and plan.dags == ()
    (problem,) = plan.problems
    assert problem.flow_id == "cdc" and problem.field == "schedule"


def test_reading_pauses_the_gc_only_while_decoding(tmp_path: Path) -> None:
    import gc

    path = write(tmp_path, 3)
    assert gc.isenabled()
    read_snapshot(path)
    assert gc.isenabled()
    gc.disable()
    try:
        read_snapshot(path)
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()
    path.write_text("{ not json")
    last_good_path(path).write_text("{ not json either")
    with pytest.raises(SnapshotError, match="not valid JSON"):
        read_snapshot(path)
    assert gc.isenabled()
