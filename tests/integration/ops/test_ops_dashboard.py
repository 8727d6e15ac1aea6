"""The operators' dashboard in a real Airflow api-server (the local stack, plugin loaded, Airflow's
simple auth manager with an admin and a read-only viewer), driven by headless Chromium, on a
generated metadata DB of 3,000 tables with a day of runs. Screenshots: test-artifacts/ops/."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from tests.conftest import REPO_ROOT
from tests.integration.ops import expect
from tests.integration.ops.browser import chromium, request, screenshot, token
from tributary.ops import synth

pytestmark = pytest.mark.slow
TABLES = 3000


@dataclass
class Dashboard:
    base: str
    db_url: str
    exp: synth.Expected
    editor: str
    viewer: str


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are missing: `make test` installs them")
        pytest.skip("chromium and chromedriver are missing: run through `make test`")
    from tributary.metadata import db
    from tributary.stack import stack as stack_module

    directory = tmp_path_factory.mktemp("ops-dash")
    old = os.environ.get("TRIBUTARY_STACK_PLUGINS_FOLDER")
    os.environ["TRIBUTARY_STACK_PLUGINS_FOLDER"] = str(REPO_ROOT / "plugins")
    try:
        state = stack_module.up(directory)
        url = state.urls["tributary_db"]
        with db.session_scope(url) as s:
            exp = synth.generate(s, TABLES, datetime.now(UTC))
        db.get_engine(url).dispose()
        yield Dashboard(
            state.urls["airflow"],
            url,
            exp,
            token(state.urls, state.login_file),
            token(state.urls, state.login_file, viewer=True),
        )
    finally:
        stack_module.down(directory)
        if old is None:
            os.environ.pop("TRIBUTARY_STACK_PLUGINS_FOLDER", None)
        else:
            os.environ["TRIBUTARY_STACK_PLUGINS_FOLDER"] = old


def _bars(driver: Any, chart: str) -> dict[str, list[float]]:
    from selenium.webdriver.common.by import By

    return {
        g.get_attribute("data-key"): [float(v) for v in g.get_attribute("data-values").split(",")]
        for g in driver.find_elements(By.CSS_SELECTOR, f"#{chart} g.bar")
    }


def _in_airflow_frame(driver: Any, base: str) -> None:
    """Open the page the way an operator does: Airflow's UI at the plugin's nav route, its iframe."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/plugin/tributary")
    frame = WebDriverWait(driver, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "iframe"))
    driver.switch_to.frame(frame)
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "states"))


def test_overview_charts_show_the_generated_figures(dash: Dashboard, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    exp = dash.exp
    assert request(f"{dash.base}/tributary/")[0] == 401  # never anonymous
    status, body = request(f"{dash.base}/api/v2/plugins", token=dash.editor)
    views = [v for p in json.loads(body)["plugins"] for v in p.get("external_views", [])]
    assert status == 200 and any(v["destination"] == "nav" and v["href"] == "tributary/" for v in views), views
    with chromium(dash.base, dash.editor, tmp_path) as driver:
        _in_airflow_frame(driver, dash.base)
        now = datetime.fromisoformat(driver.find_element(By.ID, "states").get_attribute("data-generated"))
        cards = {
            c.get_attribute("data-state"): int(c.find_element(By.CLASS_NAME, "n").text.replace(",", ""))
            for c in driver.find_elements(By.CSS_SELECTOR, "#states .card")
        }
        assert cards == expect.states(exp)
        fresh = [v[0] for v in _bars(driver, "chart-freshness").values()]
        assert fresh == expect.freshness(exp, now) and sum(fresh) == TABLES - cards["inactive"]
        for hour, (ins, upd, dele) in _bars(driver, "chart-throughput").items():
            assert [ins, upd, dele] == exp.rows_by_hour.get(expect.hour_label(hour), [0, 0, 0]), hour
        for hour, (failed,) in _bars(driver, "chart-failures").items():
            assert failed == exp.failed_by_hour.get(expect.hour_label(hour), 0), hour
        backlog = driver.find_element(By.ID, "backlog-now")
        assert int(backlog.get_attribute("data-files")) == exp.pending_files
        assert list(_bars(driver, "chart-backlog").values())[-1] == [exp.pending_files]
        for g in driver.find_elements(By.CSS_SELECTOR, "#chart-cadences g.cadence"):
            cad = g.get_attribute("data-cadence")
            _, duration = expect.last_cycle(exp, cad)
            assert float(g.get_attribute("data-duration")) == duration
            assert float(g.get_attribute("data-interval")) == synth.CADENCES[cad][1] * 60
        worst = [r.get_attribute("data-table") for r in driver.find_elements(By.CSS_SELECTOR, "#worst tr[data-table]")]
        assert worst == expect.stalest(exp, 10)
        assert driver.execute_script("return document.documentElement.dataset.theme") == "light"
        screenshot(driver, "overview-light.png")
        # Airflow's own theme switch (next-themes: localStorage "theme", <html class="dark">)
        driver.switch_to.default_content()
        driver.execute_script("localStorage.setItem('theme', 'dark')")
        _in_airflow_frame(driver, dash.base)
        assert driver.execute_script("return document.documentElement.dataset.theme") == "dark"
        bg = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert bg == "rgb(9, 9, 11)", bg
        screenshot(driver, "overview-dark.png")


def _submit(driver: Any, action: Any, ready: str = "pager") -> None:
    """Do ``action`` (a click or submit) and wait until the next page replaced this one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(driver, 60).until(expected_conditions.staleness_of(old))
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, ready))


def _rows(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [r.get_attribute("data-table") for r in driver.find_elements(By.CSS_SELECTOR, "#tables tr[data-table]")]


def test_tables_search_filters_and_pages(dash: Dashboard, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    ids = sorted(dash.exp.states)
    with chromium(dash.base, dash.editor, tmp_path) as driver:
        driver.get(f"{dash.base}/tributary/tables")
        assert _rows(driver) == ids[:50]
        assert driver.find_element(By.ID, "pager").get_attribute("data-total") == str(TABLES)
        _submit(driver, driver.find_element(By.ID, "next").click)
        assert _rows(driver) == ids[50:100]
        box = driver.find_element(By.NAME, "search")
        box.clear()
        box.send_keys("t0002")
        _submit(driver, box.submit)
        assert _rows(driver) == [t for t in ids if "t0002" in t] and len(_rows(driver)) == 10
        driver.find_element(By.NAME, "search").clear()
        Select(driver.find_element(By.NAME, "state")).select_by_value("blocked")
        Select(driver.find_element(By.NAME, "database")).select_by_value("raw_synth7")
        _submit(driver, driver.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click)
        want = [t for t in ids if t.startswith("synth7.") and dash.exp.states[t] == "blocked"]
        assert _rows(driver) == want and want
        screenshot(driver, "tables-filtered.png")
        Select(driver.find_element(By.NAME, "database")).select_by_value("")
        Select(driver.find_element(By.NAME, "state")).select_by_value("")
        Select(driver.find_element(By.NAME, "flow")).select_by_value("synth_daily")
        _submit(driver, driver.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click)
        daily = [synth.table_id(i) for i in range(TABLES) if synth.cadence_of(i) == "synth_daily"]
        assert driver.find_element(By.ID, "pager").get_attribute("data-total") == str(len(daily))
        assert _rows(driver) == sorted(daily)[:50]


def test_table_page_commits_and_airflow_links(dash: Dashboard, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    tid = synth.table_id(7)
    with chromium(dash.base, dash.editor, tmp_path) as driver:
        driver.get(f"{dash.base}/tributary/tables?search={tid}")
        _submit(driver, driver.find_element(By.LINK_TEXT, tid).click, ready="table-id")
        assert driver.find_element(By.ID, "table-id").text == tid
        commits = driver.find_elements(By.CSS_SELECTOR, "#commits tr[data-commit]")
        assert len(commits) == dash.exp.commits[tid] > 0
        assert {c.find_element(By.CSS_SELECTOR, "td.n").text for c in commits} == {"10"}  # inserted per commit
        run_link = commits[0].find_element(By.CSS_SELECTOR, "a.af")
        run_id = run_link.text
        assert run_link.get_attribute("target") == "_top"
        assert (
            run_link.get_attribute("href") == f"{dash.base}/dags/tributary__synth_hourly/runs/{quote(run_id, safe='')}"
        )
        log_links = driver.find_elements(By.CSS_SELECTOR, "#runs a.af[href$='/tasks/process_batch']")
        assert len(log_links) == len(driver.find_elements(By.CSS_SELECTOR, "#runs tr[data-run]"))
        assert synth.QUARANTINE_REASON in driver.find_element(By.ID, "quarantined").text
        screenshot(driver, "table-page.png")


def test_actions_for_the_editor_refused_for_the_viewer(dash: Dashboard, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow, ConfigChangeRow

    tid, leased = synth.table_id(107), synth.table_id(105)
    with session_scope(dash.db_url) as s:
        fid = s.scalars(
            select(CdcFileRow.file_id).where(CdcFileRow.table_id == tid, CdcFileRow.status == "quarantined")
        ).one()
    post = f"{dash.base}/tributary/api/files/{fid}/skip"
    assert request(post, token=dash.editor, method="POST")[0] == 400  # no header: what a cross-site form sends
    with chromium(dash.base, dash.viewer, tmp_path / "viewer") as driver:
        driver.get(f"{dash.base}/tributary/tables/{tid}")
        assert "read-only" in driver.find_element(By.TAG_NAME, "header").text
        assert not driver.find_elements(By.CSS_SELECTOR, "button.act")
        status = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {method: 'POST', headers: {'X-Tributary-Action': '1'}}).then(r => done(r.status));",
            post,
        )
        assert status == 403
        screenshot(driver, "table-page-viewer.png")
    with chromium(dash.base, dash.editor, tmp_path / "editor") as driver:
        for page, button in ((tid, "skip"), (leased, "release lease")):
            driver.get(f"{dash.base}/tributary/tables/{page}")
            html = driver.find_element(By.TAG_NAME, "html")
            driver.find_element(By.XPATH, f"//button[text()='{button}']").click()
            WebDriverWait(driver, 10).until(expected_conditions.alert_is_present())
            driver.switch_to.alert.accept()
            WebDriverWait(driver, 20).until(lambda d: "done:" in d.find_element(By.ID, "flash").text)
            WebDriverWait(driver, 60).until(expected_conditions.staleness_of(html))  # the page reloads itself
            WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "lease"))
        assert driver.find_element(By.ID, "lease").text.startswith("free")
        screenshot(driver, "table-page-after-action.png")
    with session_scope(dash.db_url) as s:
        assert s.get(CdcFileRow, fid).status == "skipped"  # type: ignore[union-attr]
        audit = s.scalars(select(ConfigChangeRow).where(ConfigChangeRow.entity_id.in_([str(fid), leased]))).all()
        assert sorted((a.action, a.actor) for a in audit) == [
            ("release_lock", "airflow:admin"),
            ("skip_file", "airflow:admin"),
        ]
