"""The DAG files under a real Airflow 3 DagBag: structure, broken flows, strict mode, parsing context."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tributary.config.service import refresh_snapshot
from tributary.metadata.db import session_scope
from tributary.settings import get_settings

pytestmark = pytest.mark.airflow


def test_example_config_loads_without_import_errors(apply_config: Callable[..., Path], dagbag_of: Any) -> None:
    apply_config()
    bag = dagbag_of()
    assert bag.import_errors == {}
    assert sorted(bag.dags) == [
        "tributary__hello_tributary",
        "tributary__maintenance",
        "tributary__taxi_trips_every_minute",
        "tributary__taxi_trips_refresh",
    ]

    cdc = bag.dags["tributary__taxi_trips_refresh"]
    assert [t.task_id for t in cdc.tasks] == ["apply_cdc.plan_batches", "apply_cdc.process_batch", "apply_cdc.summary"]
    process = cdc.get_task("apply_cdc.process_batch")
    assert type(process).__name__ == "MappedOperator"  # dynamic task mapping over the batches
    summary = cdc.get_task("apply_cdc.summary")
    assert summary.trigger_rule == "all_done" and summary.upstream_task_ids == {"apply_cdc.process_batch"}
    assert cdc.max_active_runs == 1 and cdc.catchup is False
    assert set(cdc.tags) == {"tributary", "cdc", "hudi", "taxi_trips", "events"}
    assert cdc.owner == "data-platform"
    # S3 events through SQS (an AssetWatcher on the flow's queue) or the 10-minute schedule
    assert type(cdc.timetable).__name__ == "AssetOrTimeSchedule"
    assert "*/10 * * * *" in cdc.timetable.summary
    ((_, asset),) = list(cdc.timetable.asset_condition.iter_assets())
    (watcher,) = asset.watchers
    assert watcher.trigger["kwargs"]["sqs_queue"].endswith("/123456789012/tributary-taxi-trips-staging")
    assert (
        "taxi_trips.table_9" in cdc.doc_md
        and "data-platform" in cdc.doc_md
        and "tributary-taxi-trips-staging" in cdc.doc_md
    )
    plan = cdc.get_task("apply_cdc.plan_batches")
    assert plan.retries == 2 and plan.retry_exponential_backoff == 2.0
    assert plan.execution_timeout.total_seconds() == 30 * 60
    assert plan.on_failure_callback and cdc.on_failure_callback

    minutely = bag.dags["tributary__taxi_trips_every_minute"]
    assert [t.task_id for t in minutely.tasks] == [
        "apply_cdc.plan_batches",
        "apply_cdc.process_batch",
        "apply_cdc.summary",
    ]
    assert "* * * * *" in repr(minutely.timetable)

    hello = bag.dags["tributary__hello_tributary"]
    assert [t.task_id for t in hello.tasks] == ["greet", "report"]
    assert hello.get_task("report").upstream_task_ids == {"greet"}
    assert hello.timetable.__class__.__name__ == "NullTimetable"  # manual


def test_a_broken_flow_row_is_one_import_error_and_other_dags_load(
    apply_config: Callable[..., Path], dagbag_of: Any
) -> None:
    apply_config()
    with session_scope() as s:  # a row written with plain SQL, bypassing validation
        s.execute(text("UPDATE flows SET schedule = 'every tuesday' WHERE flow_id = 'hello_tributary'"))
    refresh_snapshot()
    bag = dagbag_of()
    assert sorted(bag.dags) == [
        "tributary__maintenance",
        "tributary__taxi_trips_every_minute",
        "tributary__taxi_trips_refresh",
    ]
    assert len(bag.import_errors) == 1
    ((path, message),) = bag.import_errors.items()
    assert path.endswith("tributary_flow_errors.py")
    assert "hello_tributary" in message and "schedule" in message
    assert "taxi_trips_refresh" not in message


def test_a_flow_broken_in_the_snapshot_file_is_one_import_error(
    apply_config: Callable[..., Path], dagbag_of: Any
) -> None:
    apply_config()
    path = get_settings().snapshot_path
    doc = json.loads(path.read_text())
    doc["flows"]["hello_tributary"]["max_active_runs"] = 0
    path.write_text(json.dumps(doc))
    bag = dagbag_of()
    assert sorted(bag.dags) == [
        "tributary__maintenance",
        "tributary__taxi_trips_every_minute",
        "tributary__taxi_trips_refresh",
    ]
    assert len(bag.import_errors) == 1
    assert "hello_tributary" in next(iter(bag.import_errors.values()))
    assert "max_active_runs" in next(iter(bag.import_errors.values()))


def test_strict_mode_turns_a_broken_flow_into_a_failure(
    apply_config: Callable[..., Path], dagbag_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_config()
    with session_scope() as s:
        s.execute(text("UPDATE flows SET schedule = 'every tuesday' WHERE flow_id = 'hello_tributary'"))
    refresh_snapshot()
    monkeypatch.setenv("TRIBUTARY_STRICT_DAGS", "true")
    get_settings.cache_clear()
    bag = dagbag_of()
    assert sorted(bag.dags) == ["tributary__maintenance"]
    assert len(bag.import_errors) == 2 and all("hello_tributary" in m for m in bag.import_errors.values())


def test_a_broken_snapshot_falls_back_to_the_last_good_one(apply_config: Callable[..., Path], dagbag_of: Any) -> None:
    apply_config()
    get_settings().snapshot_path.write_text("{ not json")
    bag = dagbag_of()
    assert bag.import_errors == {}
    assert len(bag.dags) == 4


def test_a_worker_builds_only_the_dag_it_runs(
    apply_config: Callable[..., Path], dagbag_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_config()
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "tributary__hello_tributary")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "greet")
    from airflow.dag_processing.dagbag import DagBag

    from tests.integration.airflow.conftest import DAGS

    bag = DagBag(dag_folder=str(DAGS / "tributary_flows.py"))
    assert sorted(bag.dags) == ["tributary__hello_tributary"]


def test_no_snapshot_means_no_dags_and_one_clear_error(tributary_home: Path, dagbag_of: Any) -> None:
    bag = dagbag_of()
    assert sorted(bag.dags) == ["tributary__maintenance"]
    assert len(bag.import_errors) == 1
    assert "no config snapshot" in next(iter(bag.import_errors.values()))
