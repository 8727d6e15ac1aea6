"""Python templates run only allowed callables: checked at validation and again at load time."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import run_cli
from tributary.errors import TaskConfigError
from tributary.settings import get_settings
from tributary.templates.python_runner import run_python

HELPER = "tests.unit.templates.reexport"


@pytest.fixture
def allow_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIBUTARY_ENTRY_POINT_PACKAGES", f"{HELPER}, acme_jobs")
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "entry_point", ["subprocess:getoutput", "os:getenv", "builtins:eval", "tributary.stack.processes:spawn"]
)
def test_load_refuses_what_config_may_not_name(entry_point: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(TaskConfigError, match="is not allowed for python templates"):
        run_python(entry_point, {"cmd": f"touch {marker}"})
    assert not marker.exists()


def test_an_allowed_package_runs_but_not_what_it_imported(allow_helper: None) -> None:
    assert run_python(f"{HELPER}:hello", {"name": "x"}) == "hello x"
    with pytest.raises(TaskConfigError, match="defined in 'os', which is not allowed"):
        run_python(f"{HELPER}:read_env", {"key": "TRIBUTARY_HOME"})
    with pytest.raises(TaskConfigError, match="'subprocess' is not allowed"):
        run_python(f"{HELPER}:run_other", {"entry_point": "subprocess:getoutput", "params": {"cmd": "id"}})


def test_validate_names_the_configured_packages(allow_helper: None, tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("templates:\n  - {template_id: leak, kind: python, entry_point: 'os:getenv'}\n")
    code, _, err = run_cli("config", "validate", str(bad))
    assert code == 2
    assert f"{bad}:2: templates row 'leak' field 'entry_point': module 'os' is not allowed" in err
    assert f"TRIBUTARY_ENTRY_POINT_PACKAGES (now: {HELPER}, acme_jobs)" in err


def test_a_row_written_into_the_db_is_refused_when_the_task_loads(tmp_path: Path, migrated_db: str) -> None:
    from tributary.config.service import apply_paths
    from tributary.metadata import db
    from tributary.templates.runtime import load_task_config

    config = tmp_path / "c.yaml"
    config.write_text(
        "templates:\n  - {template_id: echo, kind: python, entry_point: 'tributary.templates:echo_params'}\n"
        "flows:\n  - {flow_id: f, manual: true, tasks: [{task_id: t, template_id: echo}]}\n"
    )
    apply_paths([config])
    assert load_task_config("f", "t").template.entry_point == "tributary.templates:echo_params"
    with db.get_engine(migrated_db).begin() as conn:
        conn.execute(text("UPDATE templates SET entry_point = 'os:getenv' WHERE template_id = 'echo'"))
    with pytest.raises(TaskConfigError, match="module 'os' is not allowed"):
        load_task_config("f", "t")
