"""The job's write of one table on local Spark, up to the Hudi datasource call (the real write:
test_glue_job_hudi.py, test_parity.py): ONE write per table and run, whose DataFrame holds the upserts and the flagged deletes and
whose options carry the checkpoint; nothing is written when the lease check or the base instant
check fails."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cdc_factory import DmsFolder
from tributary.cdc.checkpoint import Checkpoint
from tributary.cdc.files import list_files
from tributary.config.models import RawTable
from tributary.spark.dispatch import file_spec
from tributary.spark.options import CHECKPOINT_PREFIX, COMMIT_META_PREFIX_KEY, DELETE_FLAG

pytestmark = [pytest.mark.slow]


class Capture:
    """Stands in for the Hudi datasource write: records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[dict[str, Any]], list[str], dict[str, str], str]] = []

    def __call__(self, rows: Any, options: Mapping[str, str], target: str) -> None:
        self.calls.append(([r.asDict() for r in rows.collect()], rows.columns, dict(options), target))


def _entry(tmp_path: Path, mode: str = "current", **extra: Any) -> dict[str, Any]:
    root = tmp_path / "staging"
    folder = DmsFolder(root)
    folder.load([{"id": 1, "name": "a", "ts": 1}, {"id": 2, "name": "b", "ts": 1}, {"id": 3, "name": "c", "ts": 1}])
    folder.cdc(
        [
            {"Op": "U", "id": 1, "name": "a2", "ts": 2},
            {"Op": "D", "id": 2, "name": "b", "ts": 3},
            {"Op": "I", "id": 4, "name": "d", "ts": 4},
        ]
    )
    folder.cdc([{"Op": "D", "id": 99, "name": "z", "ts": 5}])
    files = list_files(str(root))
    table = RawTable.model_validate(
        {
            "source_schema": "shop",
            "source_table": "orders",
            "staging_prefix": root.as_uri(),
            "target_uri": (tmp_path / "lake").as_uri(),
            "database_name": "raw",
            "table_name": "orders",
            "record_key_fields": ["id"],
            "precombine_field": "ts",
            "refresh_cadence": "hourly",
            "storage_mode": mode,
        }
    )
    meta = Checkpoint().advance(files, reload=False, keep=512).to_metadata(files, reload=False, mode=mode)
    return {
        "table_id": "shop.orders",
        "table": table.model_dump(mode="json"),
        "files": [file_spec(f) for f in files],
        "reload": False,
        "commit_metadata": meta,
        "base_instant": None,
        **extra,
    }


def test_one_write_with_upserts_flagged_deletes_and_the_checkpoint(spark: Any, tmp_path: Path) -> None:
    from tributary.spark.job import run_table

    entry = _entry(tmp_path)
    fenced: list[bool] = []
    save = Capture()
    result = run_table(spark, entry, sync=False, fence=lambda: fenced.append(True), save=save)
    assert result["status"] == "completed", result
    assert (result["inserted"], result["updated"], result["deleted"]) == (3, 0, 0)
    assert fenced == [True]

    (call,) = save.calls  # one datasource write: one commit for upserts and deletes
    rows, columns, options, target = call
    assert target == entry["table"]["target_uri"]
    # no table yet: the deletes (2 inserted and deleted in the batch, 99 never seen) are no-ops, not
    # written (Hudi would hand them to a new file group, which cannot write them), and no flag either
    assert columns == ["id", "name", "ts"]
    assert sorted(r["id"] for r in rows) == [1, 3, 4]
    assert options["hoodie.datasource.write.operation"] == "upsert"
    assert options[COMMIT_META_PREFIX_KEY] == CHECKPOINT_PREFIX
    for key, value in entry["commit_metadata"].items():
        assert options[key] == value
    assert json.loads(options[CHECKPOINT_PREFIX + "files"]) == [f["path"] for f in entry["files"]]
    assert options[CHECKPOINT_PREFIX + "engine"] == "spark"


def test_historical_mode_writes_every_change_once_without_a_delete_flag(spark: Any, tmp_path: Path) -> None:
    from tributary.spark.job import run_table

    save = Capture()
    result = run_table(spark, _entry(tmp_path, "historical"), sync=False, save=save)
    assert result["status"] == "completed", result
    (call,) = save.calls
    rows, columns, options, _ = call
    assert DELETE_FLAG not in columns and len(rows) == 7
    assert options["hoodie.datasource.write.operation"] == "insert"
    assert options[CHECKPOINT_PREFIX + "mode"] == "historical"


def test_a_lost_lease_writes_nothing(spark: Any, tmp_path: Path) -> None:
    from tributary.errors import LeaseLostError
    from tributary.spark.job import run_table

    def lost() -> None:
        raise LeaseLostError("table shop.orders: the lease was lost (its token no longer holds); not written")

    save = Capture()
    result = run_table(spark, _entry(tmp_path), sync=False, fence=lost, save=save)
    assert result["status"] == "failed" and "lease was lost" in result["error"]
    assert save.calls == []


def test_a_table_that_changed_since_planning_is_not_written(spark: Any, tmp_path: Path) -> None:
    from tributary.spark.job import run_table

    save = Capture()
    result = run_table(spark, _entry(tmp_path, base_instant="20261123100000000"), sync=False, save=save)
    assert result["status"] == "failed" and "TableChanged" in result["error"]
    assert save.calls == []


def test_the_batch_stops_writing_a_table_whose_lease_expired_without_a_db(spark: Any, tmp_path: Path) -> None:
    from tributary.spark.job import run_batch

    now = datetime.now(UTC)
    live = _entry(
        tmp_path / "a", lease={"holder": "h", "token": 1, "expires_at": (now + timedelta(hours=1)).isoformat()}
    )
    gone = {
        **_entry(tmp_path / "b"),
        "table_id": "shop.gone",
        "lease": {"holder": "h", "token": 1, "expires_at": (now - timedelta(seconds=1)).isoformat()},
    }
    save = Capture()
    results = run_batch(spark, {"version": 1, "tables": [live, gone]}, str(tmp_path / "results"), sync=False, save=save)
    assert results["shop.orders"]["status"] == "completed"
    assert results["shop.gone"]["status"] == "failed" and "expired" in results["shop.gone"]["error"]
    assert [c[3] for c in save.calls] == [live["table"]["target_uri"]]
    written = json.loads((tmp_path / "results" / "shop.gone.json").read_text())
    assert written["status"] == "failed"
