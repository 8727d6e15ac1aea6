"""Locations are compared as the folder they name: spellings that the static corpus cannot hold
(the test's own data folder, a symlink) are written here, and refused through `config validate`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

BASE = Path(__file__).parent / "base"


def _table(name: str, staging: str, target: str) -> str:
    return (
        f"  - {{source_schema: sales, source_table: {name}, staging_prefix: '{staging}', target_uri: '{target}', "
        f"database_name: raw_sales, table_name: {name}, record_key_fields: [id], refresh_cadence: hourly}}\n"
    )


def _problems(tmp_path: Path, *rows: str) -> list[dict[str, object]]:
    bad = tmp_path / "tables.yaml"
    bad.write_text("raw_tables:\n" + "".join(rows))
    code, out, err = run_cli("config", "validate", "--json", str(BASE), str(bad))
    assert code == 2, err
    problems = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert all(p["file"] == str(bad) and p["line"] for p in problems), problems
    return problems


def test_file_uri_of_the_data_folder_is_the_relative_location(tmp_path: Path, tributary_home: Path) -> None:
    [problem] = _problems(tmp_path, _table("twin", "staging/sales/twin", f"file://{tributary_home}/lake/sales/orders/"))
    assert problem["row"] == "sales.twin" and problem["field"] == "target_uri"
    assert "is already used as the target of table 'sales.orders'" in str(problem["message"])
    assert f"{BASE / 'base.yaml'}:" in str(problem["message"])  # names where the other row is


def test_the_data_folder_itself_and_a_symlink_to_etc_are_refused(tmp_path: Path, tributary_home: Path) -> None:
    link = tmp_path / "innocent"
    link.symlink_to("/etc")
    problems = _problems(
        tmp_path,
        _table("one", "staging/sales/one", f"file://{tributary_home}"),
        _table("two", "staging/sales/two", f"file://{link}/lake"),
    )
    by_row = {p["row"]: str(p["message"]) for p in problems}
    assert "it holds the Tributary data folder" in by_row["sales.one"]
    assert "it lies in the system folder /etc" in by_row["sales.two"]


def test_locations_are_stored_in_one_spelling(tmp_path: Path) -> None:
    from tributary.config.service import validate_paths

    good = tmp_path / "tables.yaml"
    good.write_text("raw_tables:\n" + _table("items", "staging//sales/items/", "s3://lake/sales/items/"))
    config = validate_paths([BASE, good])
    table = config.tables["sales.items"]
    assert (table.staging_prefix, table.target_uri) == ("staging/sales/items", "s3://lake/sales/items")


def test_a_shared_target_written_into_the_db_disables_that_table_only(tmp_path: Path, migrated_db: str) -> None:
    from sqlalchemy import text

    from tributary.config.service import apply_paths, load_db_config
    from tributary.metadata import db

    more = tmp_path / "tables.yaml"
    more.write_text("raw_tables:\n" + _table("twin", "staging/sales/twin", "lake/sales/twin"))
    apply_paths([BASE, more])
    with db.get_engine(migrated_db).begin() as conn:  # a spelling the DB's unique constraint lets through
        conn.execute(text("UPDATE raw_tables SET target_uri = 'lake/sales/orders/' WHERE table_id = 'sales.twin'"))
    config = load_db_config()
    assert set(config.tables) == {"sales.orders"}
    reason = config.disabled("raw_tables")["sales.twin"]
    assert reason.startswith("target_uri: 'lake/sales/orders' is already used as the target of table 'sales.orders'")
    assert "(db:raw_tables)" in reason
