"""The ops page in a real Airflow api-server (the local stack), driven by headless Chromium.

Real parts: the stack's api-server with the plugin loaded, Airflow's simple auth manager and
JWT, the stack's metadata DB holding what the demo (README command 1, small size) left — files
landed in moto's S3, applied by DAG runs that S3 events and the schedule started — plus tables
processed by the real processor for the actions, Debian's chromium and chromedriver through selenium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from sqlalchemy import select

from tests.cdc_factory import DmsFolder
from tests.conftest import REPO_ROOT
from tests.integration.ops.browser import chromium, request, screenshot, token

pytestmark = pytest.mark.slow


@dataclass
class DemoStack:
    state: object
    demo_output: str

    @property
    def urls(self) -> dict[str, str]:
        return self.state.urls  # type: ignore[attr-defined]

    @property
    def env(self) -> dict[str, str]:
        return self.state.env  # type: ignore[attr-defined]

    @property
    def login_file(self) -> str:
        return self.state.login_file  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    """The local stack with the example config, after README command 1's demo ran on it (small
    size): files landed in the staging bucket, applied by the DAG runs S3 events and the schedule
    started."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are missing: `make test` installs them")
        pytest.skip("chromium and chromedriver are missing: run through `make test`")
    from tributary.stack import stack as stack_module

    directory = tmp_path_factory.mktemp("ops-stack")
    old = os.environ.get("TRIBUTARY_STACK_PLUGINS_FOLDER")
    os.environ["TRIBUTARY_STACK_PLUGINS_FOLDER"] = str(REPO_ROOT / "plugins")
    try:
        state = stack_module.up(directory, config=[REPO_ROOT / "config"])
        demo = subprocess.run(
            [str(Path(sys.executable).with_name("tributary")), "demo", "run", "--rows", "500"],
            env={**os.environ, **state.env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
        yield DemoStack(state, demo.stdout)
    finally:
        stack_module.down(directory)
        if old is None:
            os.environ.pop("TRIBUTARY_STACK_PLUGINS_FOLDER", None)
        else:
            os.environ["TRIBUTARY_STACK_PLUGINS_FOLDER"] = old


@pytest.fixture
def ops_data(stack: DemoStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    """Three more tables in the stack's metadata DB (applied with the example config, so the demo's
    tables and flows stay): one processed, one blocked by a corrupt file, one with a pending file."""
    from tributary.config.service import apply_paths, load_db_config
    from tributary.files.registry import register, sweep_table_files
    from tributary.metadata import db
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow
    from tributary.processing.batches import process_batch
    from tributary.settings import get_settings

    for key in ("TRIBUTARY_HOME", "TRIBUTARY_DB_URL"):
        monkeypatch.setenv(key, stack.env[key])
    monkeypatch.setenv("TRIBUTARY_MAX_FILE_ATTEMPTS", "1")
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    home = Path(stack.env["TRIBUTARY_HOME"])
    tables = [
        {
            "source_schema": "ops",
            "source_table": f"t{i}",
            "staging_prefix": f"staging/ops/t{i}",
            "target_uri": f"lake/ops/t{i}",
            "database_name": "ops",
            "table_name": f"t{i}",
            "record_key_fields": ["id"],
            "precombine_field": "ts",
            "refresh_cadence": "ops",
        }
        for i in (1, 2, 3)
    ]
    cfg = tmp_path / "ops.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "refresh_cadences": [{"cadence_id": "ops", "schedule": "*/10 * * * *", "batch_size": 3}],
                "raw_tables": tables,
                "flows": [],
            }
        )
    )
    apply_paths([REPO_ROOT / "config", cfg])
    rows = [{"id": i, "ts": 1, "amount": 1.0} for i in range(4)]
    DmsFolder(home / "staging/ops/t1").load(rows)
    bad = DmsFolder(home / "staging/ops/t2").load(rows)
    bad.write_bytes(b"PAR1 this is not parquet")
    config = load_db_config()
    with session_scope() as s:
        for t in ("ops.t1", "ops.t2"):
            register(s, sweep_table_files(config.tables[t]), config.tables.values())
    result = process_batch(["ops.t1", "ops.t2"], config=config)
    assert result.failed == ["ops.t2"]
    DmsFolder(home / "staging/ops/t3").load(rows)
    with session_scope() as s:
        register(s, sweep_table_files(config.tables["ops.t3"]), config.tables.values())
        quarantined = s.scalars(select(CdcFileRow).where(CdcFileRow.status == "quarantined")).one()
        return {"quarantined_file": quarantined.file_id}


def _assert_registered(stack: DemoStack, expected: dict[str, Any]) -> None:
    """Every demo table has a Glue table (in the stack's moto) with Hudi's input format, and a
    partitioned table has one catalog partition per partition folder of its Hudi table."""
    import boto3

    glue = boto3.client(
        "glue",
        endpoint_url=stack.env["AWS_ENDPOINT_URL"],
        region_name=stack.env["AWS_DEFAULT_REGION"],
        aws_access_key_id=stack.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.env["AWS_SECRET_ACCESS_KEY"],
    )
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName="raw_taxi_trips")["TableList"]}
    assert sorted(tables) == sorted(f"table_{t.rsplit('_', 1)[1]}" for t in expected)
    for name, table in tables.items():
        assert table["StorageDescriptor"]["InputFormat"] == "org.apache.hudi.hadoop.HoodieParquetInputFormat"
        keys = [k["Name"] for k in table["PartitionKeys"]]
        if not keys:
            continue
        location = table["StorageDescriptor"]["Location"].removeprefix("file://")
        folders = {p.parent.name for p in Path(location).glob("*/*.parquet")}
        parts = glue.get_partitions(DatabaseName="raw_taxi_trips", TableName=name)["Partitions"]
        assert {f"{keys[0]}={p['Values'][0]}" for p in parts} == folders, name


def test_demo_tables_on_the_ops_pages(stack: DemoStack, tmp_path: Path) -> None:
    """README command 1's result as an operator sees it: every demo table ok with the files the
    generated source says, the rows applied in the throughput chart, and a table page whose commit
    links open the right DAG run and task log in Airflow."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out = stack.demo_output
    assert "18/18 tables match" in out, out[-3000:]
    runs = out[out.index("DAG runs since the demo started") :]
    assert "S3 event success" in runs and "schedule success" in runs, runs
    assert "manual" not in runs, runs  # the demo itself never triggers a DAG
    expected = json.loads((Path(stack.env["TRIBUTARY_HOME"]) / "demo" / "expected.json").read_text())["tables"]
    assert len(expected) == 18
    assert "18/18 tables registered in the Glue Data Catalog" in out, out[-3000:]
    _assert_registered(stack, expected)
    base, editor = stack.urls["airflow"], token(stack.urls, stack.login_file)

    with chromium(base, editor, tmp_path) as driver:
        driver.get(f"{base}/tributary/tables?database=raw_taxi_trips&page_size=50")
        rows = {
            r.get_attribute("data-table"): r.get_attribute("data-state")
            for r in driver.find_elements(By.CSS_SELECTOR, "#tables tr[data-table]")
        }
        assert rows == dict.fromkeys(expected, "ok")
        driver.get(f"{base}/tributary/")
        bars = driver.find_elements(By.CSS_SELECTOR, "#chart-throughput g.bar")
        per_hour = [[float(v) for v in g.get_attribute("data-values").split(",")] for g in bars]
        inserted, deleted = sum(h[0] for h in per_hour), sum(h[2] for h in per_hour)
        assert inserted - deleted == sum(t["rows"] for t in expected.values())  # the rows the tables hold
        screenshot(driver, "demo-overview.png")

        driver.get(f"{base}/tributary/tables/taxi_trips.table_10")
        commits = driver.find_elements(By.CSS_SELECTOR, "#commits tr[data-commit]")
        assert commits and "6 processed" in driver.find_element(By.ID, "file-counts").text
        screenshot(driver, "demo-table-page.png")
        link = commits[0].find_element(By.CSS_SELECTOR, "a.af")
        dag_run_id = link.text
        dag_id = "tributary__taxi_trips_every_minute"
        assert request(f"{base}/api/v2/dags/{dag_id}/dagRuns/{quote(dag_run_id, safe='')}", token=editor)[0] == 200
        log_href = driver.find_element(By.CSS_SELECTOR, "#runs tr[data-run] a.af[href*='/tasks/']").get_attribute(
            "href"
        )
        assert "process_batch/mapped/" in log_href, log_href  # the mapped task instance that ran it
        link.click()  # target=_top: Airflow's own window opens the DAG run
        WebDriverWait(driver, 60).until(lambda d: dag_run_id in d.find_element(By.TAG_NAME, "body").text)
        assert driver.current_url.startswith(f"{base}/dags/{dag_id}/runs/")
        screenshot(driver, "demo-dag-run.png")
        driver.get(log_href)
        WebDriverWait(driver, 60).until(lambda d: "process_batch" in d.find_element(By.TAG_NAME, "body").text)


def test_ops_page_actions_in_headless_chromium(stack: DemoStack, ops_data: dict[str, int], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow, ConfigChangeRow

    base = stack.urls["airflow"]
    editor = token(stack.urls, stack.login_file)
    fid = ops_data["quarantined_file"]
    assert request(f"{base}/tributary/api/files/{fid}/skip", token=editor, method="POST")[0] == 400

    with chromium(base, editor, tmp_path) as driver:
        driver.get(f"{base}/tributary/tables?database=ops")
        states = {
            r.get_attribute("data-table"): r.get_attribute("data-state")
            for r in driver.find_elements(By.CSS_SELECTOR, "#tables tr[data-table]")
        }
        assert states == {"ops.t1": "ok", "ops.t2": "blocked", "ops.t3": "backlog"}
        driver.get(f"{base}/tributary/tables/ops.t2")
        assert "LOAD00000001.parquet" in driver.find_element(By.ID, "quarantined").text  # the file and its reason
        driver.find_element(By.XPATH, "//button[text()='skip']").click()
        WebDriverWait(driver, 10).until(expected_conditions.alert_is_present())
        driver.switch_to.alert.accept()
        WebDriverWait(driver, 10).until(lambda d: "done:" in d.find_element(By.ID, "flash").text)
        screenshot(driver, "demo-action.png")

    with session_scope() as s:
        assert s.get(CdcFileRow, fid).status == "skipped"  # type: ignore[union-attr]
        audit = s.scalars(select(ConfigChangeRow).where(ConfigChangeRow.action == "skip_file")).one()
        assert audit.actor == "airflow:admin" and audit.entity_id == str(fid)
