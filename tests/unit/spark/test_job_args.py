"""The job's arguments: JSON parsed as data, never evaluated; the shipped bundle is hashed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tributary.errors import BatchError
from tributary.spark.job import load_batch, parse_args, result_key

EVIL = "__import__('os').system('touch /tmp/tributary-pwned-unit')"


def test_batch_round_trips_and_a_malicious_string_stays_data(tmp_path: Path) -> None:
    batch = {
        "version": 1,
        "tables": [
            {
                "table_id": "s.t",
                "table": {"table_name": EVIL, "options": {"x": "'); DROP TABLE cdc_files; --"}},
                "files": [{"uri": "s3://b/k", "path": "k", "kind": "cdc"}],
                "commit_metadata": {"tributary.cdc.version": "1", "tributary.cdc.files": '["k"]'},
                "base_instant": None,
            }
        ],
    }
    argv = ["--JOB_NAME", "j", "--tributary-batch", json.dumps(batch), "--result-uri", "s3://b/r"]
    args = parse_args(argv)
    assert load_batch(args["--tributary-batch"]) == batch
    assert not Path("/tmp/tributary-pwned-unit").exists()


@pytest.mark.parametrize(
    "text",
    [
        EVIL,
        "{'version': 1, 'tables': []}",
        "[]",
        '{"version": 2, "tables": []}',
        '{"version": 1, "tables": [{"x": 1}]}',
        # no checkpoint for the commit, or one that would override a hoodie.* option
        '{"version": 1, "tables": [{"table_id": "t", "table": {}, "files": []}]}',
        '{"version": 1, "tables": [{"table_id": "t", "table": {}, "files": [], '
        '"commit_metadata": {"tributary.cdc.version": "1", "hoodie.datasource.write.operation": "delete"}}]}',
        '{"version": 1, "tables": [{"table_id": "t", "table": {}, "files": [], "commit_metadata": {"tributary.cdc.x": "1"}}]}',
    ],
)
def test_anything_but_the_expected_json_is_refused(text: str) -> None:
    with pytest.raises(BatchError):
        load_batch(text)
    assert not Path("/tmp/tributary-pwned-unit").exists()


def test_result_keys_are_safe_names() -> None:
    assert result_key("sales.orders") == "sales.orders.json"
    assert result_key("../x/y") == "..%2Fx%2Fy.json"


def test_bundle_hash_is_stable_and_covers_the_modules() -> None:
    from tributary.templates.glue import job_bundle

    a, b = job_bundle(), job_bundle()
    assert a.sha256 == b.sha256 and a.modules_zip == b.modules_zip
    assert a.script_key() == f"tributary/scripts/{a.sha256}/job.py"


def test_job_module_imports_without_pyspark_or_airflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pyspark'] = None; sys.modules['airflow'] = None; sys.modules['pyarrow'] = None\n"
        "import tributary.spark.job, tributary.spark.semantics, tributary.spark.options"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3] / "include")


@pytest.mark.parametrize(
    ("secret", "url"),
    [
        ("postgresql://u:p@db:5432/meta", "postgresql://u:p@db:5432/meta"),
        ('{"url": "postgresql://u:p@db/meta"}', "postgresql://u:p@db/meta"),
        # the shape of an RDS-managed secret
        (
            '{"engine": "postgres", "host": "db.example", "port": 5432, "username": "tri", "password": "p@ss", '
            '"dbname": "meta"}',
            "postgresql://tri:p%40ss@db.example:5432/meta",
        ),
        ('{"token": "x"}', None),
        ("not a url", None),
    ],
)
def test_the_metadata_db_url_is_read_from_the_secret_shapes(secret: str, url: str | None) -> None:
    from tributary.spark.job import db_url_from_secret_value

    assert db_url_from_secret_value(secret) == url
