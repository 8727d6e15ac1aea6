"""Config against a real metadata DB, on SQLite and on the private PostgreSQL cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.exc import DataError, IntegrityError

from tests.conftest import REPO_ROOT, run_cli
from tributary.config.service import apply_paths, export_yaml, load_db_config
from tributary.config.snapshot import last_good_path, read_snapshot
from tributary.metadata.db import get_engine, session_scope
from tributary.metadata.models import ConfigChangeRow, FlowTaskRow, RawTableRow
from tributary.settings import get_settings

EXAMPLE = REPO_ROOT / "config"


def test_upgrade_creates_every_table(db_url: str) -> None:
    code, out, err = run_cli("db", "upgrade")
    assert code == 0, err
    from tributary.metadata.db import head_revision

    assert f"revision {head_revision()}" in out
    from sqlalchemy import inspect

    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert {
        "templates",
        "flows",
        "flow_tasks",
        "raw_tables",
        "refresh_cadences",
        "cdc_files",
        "cdc_file_history",
        "table_locks",
        "processing_runs",
        "processing_run_history",
        "alert_outbox",
        "config_changes",
    } <= tables
    code, out, _ = run_cli("db", "upgrade")
    assert f"already at revision {head_revision()}" in out


def test_apply_without_migration_says_what_to_do(db_url: str) -> None:
    code, _, err = run_cli("config", "apply", str(EXAMPLE))
    assert code == 1
    assert "tributary db upgrade" in err
    assert "Traceback" not in err


def test_apply_twice_then_export_round_trips(migrated_db: str, tmp_path: Path) -> None:
    code, out, err = run_cli("config", "apply", str(EXAMPLE))
    assert code == 0, err
    assert "plan: 25 to add, 0 to change, 0 to remove" in out

    code, out, _ = run_cli("config", "apply", str(EXAMPLE))
    assert code == 0
    assert "plan: no changes" in out

    exported = tmp_path / "export.yaml"
    code, _, _ = run_cli("config", "export", "-o", str(exported))
    assert code == 0
    doc = yaml.safe_load(exported.read_text())
    assert len(doc["raw_tables"]) == 18 and len(doc["flows"]) == 3
    code, out, _ = run_cli("config", "apply", str(exported))
    assert code == 0
    assert "plan: no changes" in out

    with session_scope() as s:
        changes = s.scalars(select(ConfigChangeRow)).all()
    assert len(changes) == 25
    assert {c.action for c in changes} == {"add"}
    assert all(c.actor and c.after and c.before is None for c in changes)


def test_plan_shows_changes_and_removals_and_audits_them(
    migrated_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_paths([EXAMPLE])
    doc = yaml.safe_load(export_yaml())
    doc["raw_tables"] = [t for t in doc["raw_tables"] if t["source_table"] != "table_18"]
    doc["raw_tables"][0]["precombine_field"] = "updated_at"
    doc["flows"][0]["max_active_runs"] = 3
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(doc))

    code, out, _ = run_cli("config", "apply", "--dry-run", str(changed))
    assert code == 0
    assert "plan: 0 to add, 2 to change, 1 to remove" in out
    assert "dry run" in out
    assert "taxi_trips.table_18" in load_db_config().tables  # nothing applied

    monkeypatch.setenv("TRIBUTARY_ACTOR", "alice")
    get_settings.cache_clear()
    code, out, _ = run_cli("config", "apply", str(changed))
    assert code == 0, out
    assert "precombine_field" in out and "max_active_runs" in out
    config = load_db_config()
    assert "taxi_trips.table_18" not in config.tables
    assert config.tables["taxi_trips.table_1"].precombine_field == "updated_at"
    with session_scope() as s:
        audit = s.scalars(select(ConfigChangeRow).where(ConfigChangeRow.actor == "alice")).all()
    assert sorted((a.action, a.entity_id) for a in audit) == [
        ("change", "hello_tributary"),
        ("change", "taxi_trips.table_1"),
        ("remove", "taxi_trips.table_18"),
    ]
    removed = next(a for a in audit if a.action == "remove")
    assert removed.before and removed.before["table_name"] == "table_18" and removed.after is None


def test_failed_apply_changes_nothing(migrated_db: str, tmp_path: Path) -> None:
    """A constraint failure mid-apply rolls the whole change back (one transaction)."""
    apply_paths([EXAMPLE])
    with session_scope() as s:
        from tributary.metadata.models import CdcFileRow

        s.add(CdcFileRow(uri="file:///x/LOAD00000001.parquet", table_id="taxi_trips.table_2", status="pending"))
    doc = yaml.safe_load(export_yaml())
    doc["raw_tables"] = [t for t in doc["raw_tables"] if t["source_table"] != "table_2"]
    doc["raw_tables"][0]["description"] = "changed in the same apply"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    code, _, err = run_cli("config", "apply", str(bad))
    assert code == 2
    assert "taxi_trips.table_2" in err and "active: false" in err
    config = load_db_config()
    assert "taxi_trips.table_2" in config.tables
    assert config.tables["taxi_trips.table_1"].description != "changed in the same apply"


def test_database_enforces_constraints(migrated_db: str) -> None:
    apply_paths([EXAMPLE])
    engine = get_engine(migrated_db)
    bad_statements = [
        "UPDATE raw_tables SET table_version = 7 WHERE table_id = 'taxi_trips.table_1'",
        "UPDATE raw_tables SET storage_mode = 'snapshot' WHERE table_id = 'taxi_trips.table_1'",
        "UPDATE raw_tables SET refresh_cadence = 'nope' WHERE table_id = 'taxi_trips.table_1'",
        "UPDATE raw_tables SET target_uri = 'lake/raw/taxi_trips/table_2' WHERE table_id = 'taxi_trips.table_1'",
        "UPDATE raw_tables SET table_id = 'other.table' WHERE table_id = 'taxi_trips.table_1'",
        "UPDATE refresh_cadences SET batch_size = 0",
        "UPDATE flow_tasks SET template_id = 'missing'",
        "UPDATE flows SET dag_id = 'tributary__hello_tributary' WHERE flow_id = 'taxi_trips_refresh'",
        "INSERT INTO cdc_files (uri, version_key, status, attempts, registered_at, order_key) "
        "VALUES ('s3://b/k', '', 'lost', 0, CURRENT_TIMESTAMP, '')",
        "INSERT INTO alert_outbox (subject, message, dedupe_key, occurrences, status, attempts, created_at, "
        f"next_attempt_at) VALUES ('{'x' * 101}', '{{}}', 'k', 1, 'pending', 0, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP)",
    ]
    for statement in bad_statements:
        with pytest.raises((IntegrityError, DataError)), engine.begin() as conn:
            conn.execute(text(statement))
    # a removed flow takes its tasks with it (ON DELETE CASCADE)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM flows WHERE flow_id = 'hello_tributary'"))
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(FlowTaskRow)) == 2


def test_rows_written_with_sql_are_validated_when_read(migrated_db: str) -> None:
    apply_paths([EXAMPLE])
    engine = get_engine(migrated_db)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE raw_tables SET record_key_fields = :v WHERE table_id = 'taxi_trips.table_3'"),
            {"v": json.dumps(["trip id; drop"])},
        )
        conn.execute(text("UPDATE flows SET schedule = 'every tuesday' WHERE flow_id = 'taxi_trips_refresh'"))
    code, out, err = run_cli("tables", "list")
    assert code == 0, err
    assert "taxi_trips.table_3" in out and "disabled: invalid row" in out and "record_key_fields[0]" in out
    assert "raw tables (17 valid)" in out
    code, out, _ = run_cli("flows", "list")
    assert "taxi_trips_refresh" in out and "not a valid cron expression" in out
    assert "flows (2 valid)" in out

    code, out, _ = run_cli("config", "snapshot")
    assert code == 0
    snap = read_snapshot(get_settings().snapshot_path)
    assert "taxi_trips.table_3" not in snap.tables and len(snap.tables) == 17
    assert set(snap.flows) == {"hello_tributary", "taxi_trips_every_minute"}
    assert "taxi_trips_refresh" in snap.disabled["flows"]
    assert "record_key_fields" in snap.disabled["raw_tables"]["taxi_trips.table_3"]


def test_snapshot_falls_back_to_last_good(migrated_db: str) -> None:
    result = apply_paths([EXAMPLE])
    assert result.snapshot is not None
    path = get_settings().snapshot_path
    good = read_snapshot(path)
    assert not good.fallback_used and len(good.flows) == 3
    path.write_text('{"format": 1, "templates": ')  # a torn write or a bad hand edit
    snap = read_snapshot(path)
    assert snap.fallback_used
    assert snap.content_hash == good.content_hash
    assert last_good_path(path).exists()


def test_cli_lists_flows_and_tables(migrated_db: str) -> None:
    apply_paths([EXAMPLE])
    code, out, _ = run_cli("flows", "list")
    assert code == 0
    assert "tributary__taxi_trips_refresh" in out and "apply_cdc" in out
    code, out, _ = run_cli("tables", "list")
    assert code == 0
    assert out.count("taxi_trips.table_") == 18
    with session_scope() as s:
        rows = s.scalars(select(RawTableRow)).all()
    assert sum(1 for row in rows if row.partition_fields == ["pickup_date"]) == 6


def test_migrations_match_models_and_downgrade(db_url: str) -> None:
    """Autogenerate finds nothing to change after upgrade; every step downgrades and re-applies."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tributary.metadata import db
    from tributary.metadata.models import Base

    db.upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    with get_engine(db_url).begin() as conn:
        cfg = db.alembic_config(db_url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert db.current_revision(db_url) is None
    assert db.upgrade(db_url) == db.head_revision()
