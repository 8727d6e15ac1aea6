"""The ops JSON API in process (FastAPI's test client) on a generated metadata DB: 3,000 tables with
a day of runs on SQLite, 300 on PostgreSQL. Airflow's auth is replaced by a stand-in user (no
api-server runs here); the browser tests in test_ops_dashboard.py use Airflow's real auth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import _require_postgres
from tests.integration.ops import expect
from tributary.ops import synth


@dataclass
class SynthDb:
    url: str
    exp: synth.Expected
    tables: int


def _create(kind: str, directory: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'ops.db'}", None
    import uuid

    import psycopg

    base = _require_postgres()
    name = f"ops_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return base.rsplit("/", 1)[0] + f"/{name}", name


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def synth_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthDb]:
    from tributary.metadata import db

    url, pg_name = _create(request.param, tmp_path_factory.mktemp("ops-db"))
    tables = 3000 if request.param == "sqlite" else 300
    db.upgrade(url)
    with db.session_scope(url) as s:
        exp = synth.generate(s, tables, datetime.now(UTC))
    yield SynthDb(url, exp, tables)
    db.get_engine(url).dispose()
    db.get_engine.cache_clear()
    if pg_name:
        import psycopg

        with psycopg.connect(_require_postgres(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _client(synth_db: SynthDb, monkeypatch: pytest.MonkeyPatch, *, can_edit: bool = True) -> TestClient:
    from tributary.metadata import db
    from tributary.ops.app import create_app
    from tributary.ops.auth import StaticAuth, StaticUser
    from tributary.settings import get_settings

    monkeypatch.setenv("TRIBUTARY_DB_URL", synth_db.url)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    user = StaticUser("ed" if can_edit else "vi", can_edit)
    return TestClient(create_app(StaticAuth(user)), root_path="/tributary")


@pytest.fixture
def api(synth_db: SynthDb, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    return _client(synth_db, monkeypatch)


def test_overview_figures(api: TestClient, synth_db: SynthDb) -> None:
    exp = synth_db.exp
    doc = api.get("/api/overview").json()
    now = datetime.fromisoformat(doc["generated_at"])
    assert doc["states"] == expect.states(exp)
    assert doc["states"]["blocked"] > 0 and doc["states"]["failing"] > 0 and doc["states"]["inactive"] > 0
    assert [b["tables"] for b in doc["freshness"]["distribution"]] == expect.freshness(exp, now)
    assert [w["table_id"] for w in doc["freshness"]["worst"]] == expect.stalest(exp, 10)
    assert doc["backlog"]["now"] == {"files": exp.pending_files, "bytes": exp.pending_bytes}
    assert doc["backlog"]["series"][-1]["files"] == exp.pending_files
    expect.check_series(doc, exp)
    cadences = {c["cadence"]: c for c in doc["cadences"]}
    for cad, (schedule, minutes) in synth.CADENCES.items():
        run, duration = expect.last_cycle(exp, cad)
        c = cadences[cad]
        assert (c["schedule"], c["interval_seconds"], c["last_dag_run_id"]) == (schedule, minutes * 60.0, run)
        assert c["last_duration_seconds"] == duration and c["keeping_up"] == (duration <= minutes * 60)
        assert c["tables"] == len([i for i in range(synth_db.tables) if synth.cadence_of(i) == cad])


def _ids(api: TestClient, **params: str | int) -> tuple[int, list[str]]:
    r = api.get("/api/tables", params={**params, "page_size": 500})
    assert r.status_code == 200, r.text
    doc = r.json()
    return doc["total"], [t["table_id"] for t in doc["tables"]]


def test_table_list_search_filters_sort_and_pages(api: TestClient, synth_db: SynthDb) -> None:
    exp, ids = synth_db.exp, sorted(synth_db.exp.states)
    assert _ids(api, search="T0001") == (10, [t for t in ids if "t0001" in t])
    for state in ("blocked", "failing", "inactive"):
        want = [t for t in ids if exp.states[t] == state]
        assert _ids(api, state=state) == (len(want), want)
    hourly = [
        t
        for i, t in enumerate(synth.table_id(i) for i in range(synth_db.tables))
        if synth.cadence_of(i) == "synth_hourly"
    ]
    assert _ids(api, cadence="synth_hourly")[0] == len(hourly)
    assert _ids(api, flow="synth_hourly")[1] == sorted(hourly)[:500]
    in_db3 = [t for t in ids if t.startswith("synth3.")]
    assert _ids(api, database="raw_synth3") == (len(in_db3), in_db3[:500])
    assert _ids(api, database="raw_synth7", state="blocked")[1] == [
        t for t in ids if t.startswith("synth7.") and exp.states[t] == "blocked"
    ]
    assert _ids(api, sort="freshness")[1] == expect.stalest(exp, 500, inactive=True)
    page = api.get("/api/tables", params={"page": 2, "page_size": 50}).json()
    assert page["total"] == synth_db.tables and page["pages"] == -(-synth_db.tables // 50)
    assert [t["table_id"] for t in page["tables"]] == ids[50:100]
    desc = api.get("/api/tables", params={"sort": "table", "order": "desc", "page_size": 3}).json()
    assert [t["table_id"] for t in desc["tables"]] == ids[::-1][:3]
    assert api.get("/api/tables", params={"search": "no-such-table"}).json()["total"] == 0


def test_table_page_document(api: TestClient, synth_db: SynthDb) -> None:
    exp = synth_db.exp
    tid = synth.table_id(7)  # blocked: a quarantined file; hourly cadence
    doc = api.get(f"/api/tables/{tid}").json()
    assert doc["table"]["state"] == "blocked"
    # the catalog slot: the synthetic DB records no catalog sync, so nothing is synced
    from tributary.catalog.status import CatalogState

    catalog = doc["catalog"]
    assert catalog["name"] == f"raw_{tid}" and catalog["synced_instant"] is None and catalog["error"] is None
    assert catalog["state"] in {s.value for s in CatalogState} - {CatalogState.IN_STEP.value}
    assert len(doc["commits"]) == exp.commits[tid] > 0
    first = doc["commits"][0]
    assert first["inserted"] == 10 + 7 % 7 and first["dag_id"] == "tributary__synth_hourly"
    assert first["airflow"]["dag_run"] == f"dags/tributary__synth_hourly/runs/{quote(first['dag_run_id'], safe='')}"
    assert first["airflow"]["task_log"] == first["airflow"]["dag_run"] + "/tasks/process_batch"
    assert all(r["duration_seconds"] == 4 + 7 % 5 for r in doc["runs"])
    assert [q["reason"] for q in doc["quarantined"]] == [synth.QUARANTINE_REASON]
    assert doc["file_counts"]["quarantined"] == 1 and doc["schema"]["note"].startswith("no Hudi table")
    leased = api.get(f"/api/tables/{synth.table_id(5)}").json()
    assert leased["lease"]["holder"] == "worker-5"


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/tables?page=0", 422, "greater than or equal"),
        ("/api/tables?page=abc", 422, "valid integer"),
        ("/api/tables?page=99999999999999999999", 422, "less than or equal"),
        ("/api/tables?page_size=100000", 422, "less than or equal"),
        ("/api/tables?state=sleepy", 400, "not one of"),
        ("/api/tables?sort=zzz", 400, "not one of"),
        ("/api/tables?cadence=x%27%3B%20drop", 400, "letters, digits"),
        ("/api/tables/nope.nothing", 404, "not configured"),
        ("/api/tables/" + "x" * 300, 400, "at most 257"),
        ("/api/tables/a%20b", 400, "letters, digits"),
    ],
)
def test_bad_parameters_are_4xx_with_a_message(api: TestClient, path: str, status: int, words: str) -> None:
    r = api.get(path)
    assert r.status_code == status and words in r.text, (r.status_code, r.text)


def test_actions_for_an_editor_and_refused_for_a_viewer(synth_db: SynthDb, monkeypatch: pytest.MonkeyPatch) -> None:
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow, ConfigChangeRow

    tid = synth.table_id(107)
    with session_scope(synth_db.url) as s:
        fid = s.scalars(
            select(CdcFileRow.file_id).where(CdcFileRow.table_id == tid, CdcFileRow.status == "quarantined")
        ).one()
    ok = {"X-Tributary-Action": "1"}
    viewer = _client(synth_db, monkeypatch, can_edit=False)
    assert viewer.post(f"/api/files/{fid}/skip", headers=ok).status_code == 403
    editor = _client(synth_db, monkeypatch)
    assert editor.post(f"/api/files/{fid}/skip").status_code == 400  # no header: a cross-site form
    r = editor.post(f"/api/files/{fid}/skip", headers={**ok, "Origin": "https://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.text
    assert editor.post(f"/api/files/{fid}/skip", headers={**ok, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert editor.post(f"/api/files/{fid}/explode", headers=ok).status_code == 404
    assert editor.post("/api/files/0/skip", headers=ok).status_code == 422
    assert editor.post("/api/files/123456789/skip", headers=ok).status_code == 404
    r = editor.post(f"/api/files/{fid}/skip", headers={**ok, "Origin": "http://testserver"})
    assert r.status_code == 200 and r.json()["status"] == "skipped"
    assert editor.post(f"/api/files/{fid}/skip", headers=ok).status_code == 409  # already skipped
    leased = synth.table_id(205)
    assert viewer.post(f"/api/locks/{leased}/release", headers=ok).status_code == 403
    assert editor.post(f"/api/locks/{leased}/release", headers=ok).status_code == 200
    assert editor.post(f"/api/locks/{leased}/release", headers=ok).status_code == 409
    with session_scope(synth_db.url) as s:
        assert s.get(CdcFileRow, fid).status == "skipped"  # type: ignore[union-attr]
        audit = s.scalars(select(ConfigChangeRow).where(ConfigChangeRow.entity_id.in_([str(fid), leased]))).all()
        assert sorted((a.action, a.actor) for a in audit) == [
            ("release_lock", "airflow:ed"),
            ("skip_file", "airflow:ed"),
        ]
    # the skipped file no longer blocks its table: the module's expectations follow
    synth_db.exp.states[tid] = "ok"
    synth_db.exp.pending_files -= 1
    synth_db.exp.pending_bytes -= 777
    assert editor.get(f"/api/tables/{tid}").json()["table"]["state"] == "ok"


def test_pages_render_the_same_figures(api: TestClient, synth_db: SynthDb) -> None:
    html = api.get("/").text
    for state, n in expect.states(synth_db.exp).items():
        assert f'data-state="{state}" href="/tributary/tables?state={state}"><b class="n">{n:,}</b>' in html
    listing = api.get("/tables", params={"search": "t0001"}).text
    assert listing.count("<tr data-table=") == 10 and 'data-total="10"' in listing
    viewer_page = api.get(f"/tables/{synth.table_id(7)}").text
    assert 'class="act"' in viewer_page and "/tributary/api/files/" in viewer_page


def test_status_cli_prints_the_api_figures(api: TestClient, synth_db: SynthDb) -> None:
    """`tributary status` (the `api` fixture points TRIBUTARY_DB_URL at the generated DB)."""
    import json

    from tests.conftest import run_cli

    code, out, err = run_cli("status", "--json")
    assert code == 0, err
    doc = json.loads(out.strip().splitlines()[-1])
    exp = synth_db.exp
    assert doc["states"] == expect.states(exp)
    assert doc["backlog"]["now"] == {"files": exp.pending_files, "bytes": exp.pending_bytes}
    now = datetime.fromisoformat(doc["generated_at"])
    assert [b["tables"] for b in doc["freshness"]["distribution"]] == expect.freshness(exp, now)
    code, out, _ = run_cli("status")
    assert code == 0 and f"backlog: {exp.pending_files:,} files" in out and "stalest tables" in out


def test_bench_ops_reports_api_against_its_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from tests.conftest import run_cli

    monkeypatch.setenv("TRIBUTARY_DB_URL", "sqlite:///unused")  # the bench points it at its own DB; restored after
    code, out, err = run_cli("bench", "ops", "--tables", "60", "--repeat", "1", "--workdir", str(tmp_path),
                             "--results-dir", str(tmp_path))  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.strip().splitlines()[-1])
    assert doc == json.loads((tmp_path / "ops.json").read_text())
    assert {e["endpoint"] for e in doc["endpoints"]} == {
        "overview",
        "tables page 1",
        "backlog stalest",
        "search page 3",
    }
    for e in doc["endpoints"]:
        assert e["statements"] >= 1 and e["floor_ms"] > 0 and e["ratio"] == pytest.approx(e["api_ms"] / e["floor_ms"])


def test_values_are_escaped_on_the_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error message or file reason holding markup is shown as text, never run."""
    from tributary.metadata import db
    from tributary.metadata.models import CdcFileRow, ProcessingRunRow

    url = f"sqlite:///{tmp_path / 'small.db'}"
    db.upgrade(url)
    now = datetime.now(UTC)
    evil = '<script>alert("x")</script>'
    with db.session_scope(url) as s:
        exp = synth.generate(s, 20, now)
        tid = synth.table_id(7)
        s.add(ProcessingRunRow(table_id=tid, status="failed", started_at=now, finished_at=now, error=evil))
        quarantined = s.scalars(
            select(CdcFileRow).where(CdcFileRow.table_id == tid, CdcFileRow.status == "quarantined")
        )
        quarantined.one().reason = evil
    api = _client(SynthDb(url, exp, 20), monkeypatch)
    for page in (f"/tables/{tid}", "/tables?state=blocked", "/"):
        html = api.get(page).text
        assert "<script>alert" not in html, page
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 0  # the overview shows neither
    detail = api.get(f"/tables/{tid}").text
    assert detail.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 2  # the run's error and the reason
    db.get_engine(url).dispose()


def test_airflow_paths_of_a_mapped_task_instance() -> None:
    from tributary.ops.detail import airflow_paths

    paths = airflow_paths("tributary__x", "scheduled__2026-12-01T09:41:00+00:00", "apply_cdc.process_batch[3]")
    run = "dags/tributary__x/runs/scheduled__2026-12-01T09%3A41%3A00%2B00%3A00"
    assert paths == {"dag_run": run, "task_log": f"{run}/tasks/apply_cdc.process_batch/mapped/3"}
    assert airflow_paths("d", "r", "plain")["task_log"] == "dags/d/runs/r/tasks/plain"
    assert airflow_paths(None, "r", "t") == {"dag_run": None, "task_log": None}  # a CLI run has no DAG run


def test_table_page_schema_and_its_changes_from_a_real_hudi_table(
    tributary_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The embedded writer applies a full load, then a CDC file with one more column; the table
    page reads both commits' schemas from the Hudi timeline."""
    import yaml

    from tests.cdc_factory import DmsFolder
    from tests.conftest import REPO_ROOT
    from tributary.config.service import apply_paths, load_db_config
    from tributary.files.registry import register, sweep_table_files
    from tributary.metadata import db
    from tributary.ops.detail import table_detail
    from tributary.processing.batches import process_batch

    db.get_engine.cache_clear()  # the engine of this test's own DB, not the module's generated one
    db.upgrade()
    table = {
        "source_schema": "sch", "source_table": "t1", "staging_prefix": "staging/sch/t1", "target_uri": "lake/sch/t1",
        "database_name": "sch", "table_name": "t1", "record_key_fields": ["id"], "precombine_field": "ts",
        "refresh_cadence": "often",
    }  # fmt: skip
    cfg = tmp_path / "t.yaml"
    cadence = {"cadence_id": "often", "schedule": "*/10 * * * *", "batch_size": 1}
    cfg.write_text(yaml.safe_dump({"refresh_cadences": [cadence], "raw_tables": [table], "flows": []}))
    apply_paths([REPO_ROOT / "config" / "templates.yaml", cfg])
    folder = DmsFolder(tributary_home / "staging/sch/t1")
    config = load_db_config()
    for write in (
        lambda: folder.load([{"id": 1, "ts": 1, "amount": 1.0}]),
        lambda: folder.cdc([{"Op": "I", "id": 2, "ts": 2, "amount": 2.0, "region": "eu"}]),
    ):
        write()
        with db.session_scope() as s:
            register(s, sweep_table_files(config.tables["sch.t1"]), config.tables.values())
        assert process_batch(["sch.t1"], config=config).failed == []
    with db.session_scope() as s:
        doc = table_detail(s, "sch.t1", datetime.now(UTC))
    assert [c["name"] for c in doc["schema"]["columns"]] == ["id", "ts", "amount", "region"]
    changes = doc["schema"]["changes"]
    assert [c["added"] for c in changes] == [["amount", "id", "ts"], ["region"]], changes
    assert len(doc["commits"]) == 2 and doc["commits"][0]["inserted"] == 1 and doc["table"]["state"] == "ok"
