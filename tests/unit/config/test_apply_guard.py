"""`config apply` of a file that would empty the config needs --allow-empty."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

BASE = Path(__file__).parent / "base"


def test_an_empty_file_does_not_remove_every_flow(tmp_path: Path, migrated_db: str) -> None:
    from tributary.config.service import load_db_config

    code, _, err = run_cli("config", "apply", str(BASE))
    assert code == 0, err
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here yet\n")

    code, out, err = run_cli("config", "apply", str(empty))
    assert code == 2
    assert "Traceback" not in err
    assert f"{empty}: config apply would remove every flow (1) and every template (2) and every cadence (1)" in err
    assert "--allow-empty" in err
    config = load_db_config()
    assert set(config.flows) == {"base_flow"} and set(config.tables) == {"sales.orders"}

    # templates only: still every flow and cadence would go
    only_templates = tmp_path / "templates.yaml"
    only_templates.write_text((BASE / "base.yaml").read_text().split("refresh_cadences:")[0])
    code, _, err = run_cli("config", "apply", str(only_templates))
    assert code == 2 and "remove every flow (1) and every cadence (1)" in err

    code, out, err = run_cli("config", "apply", "--dry-run", str(empty))  # a dry run only shows the plan
    assert code == 0 and "5 to remove" in out and "nothing applied" in out

    code, out, err = run_cli("config", "apply", "--allow-empty", str(empty))
    assert code == 0, err
    config = load_db_config()
    assert not config.flows and not config.templates and not config.tables
