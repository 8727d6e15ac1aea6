"""Every file in bad/ is rejected with a message naming its file, line, row and field.

Each bad file adds broken rows to a valid base config and states, in its first line, the
problem that must be reported: ``# expect: <section> | <row> | <field> | <message part>``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

HERE = Path(__file__).parent
BASE = HERE / "base"
BAD_FILES = sorted((HERE / "bad").glob("*.yaml"))


def _expectation(path: Path) -> tuple[str, str, str, str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    section, row, field, message = (part.strip() for part in first.removeprefix("# expect: ").split(" | "))
    return section, row, field, message


def test_corpus_is_large_enough() -> None:
    assert len(BAD_FILES) >= 25


def test_base_config_is_valid() -> None:
    code, out, err = run_cli("config", "validate", str(BASE))
    assert code == 0, err
    assert "valid: 2 templates, 1 cadences, 1 raw tables, 1 flows" in out


@pytest.mark.parametrize("bad_file", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_config_is_rejected_with_location(bad_file: Path) -> None:
    section, row, field, message = _expectation(bad_file)

    code, out, err = run_cli("config", "validate", "--json", str(BASE), str(bad_file))
    assert code == 2
    problems = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert problems, "no problem reported"
    # the valid base is never blamed, and every problem says where it is
    assert all(p["file"] == str(bad_file) for p in problems), problems
    assert all(p["line"] for p in problems if p["section"] != "config"), problems
    matching = [
        p
        for p in problems
        if p["section"] == section
        and (row == "-" or p["row"] == row)
        and (field == "-" or p["field"] == field)
        and message in p["message"]
    ]
    assert matching, f"expected {section}/{row}/{field}/{message!r} in {problems}"

    # the human form names file:line, row and field, with no traceback
    code, _, err = run_cli("config", "validate", str(BASE), str(bad_file))
    assert code == 2
    assert "Traceback" not in err
    hit = matching[0]
    assert f"{bad_file}:{hit['line']}" in err
    if row != "-":
        assert f"row '{row}'" in err
    if field != "-":
        assert f"field '{field}'" in err


def test_line_numbers_point_at_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "flows.yaml"
    bad.write_text(
        "flows:\n"
        "  - flow_id: f\n"
        "    manual: true\n"
        "    tasks:\n"
        "      - task_id: a\n"
        "        template_id: echo\n"
        "        params:\n"
        "          message: hi\n"
        "          count: zero\n"
    )
    code, out, _ = run_cli("config", "validate", "--json", str(BASE), str(bad))
    assert code == 2
    [problem] = [json.loads(line) for line in out.splitlines()]
    assert problem["field"] == "tasks[0].params.count"
    assert problem["line"] == 9


def test_apply_refuses_bad_config_before_touching_the_db(tmp_path: Path) -> None:
    code, _, err = run_cli("config", "apply", str(BASE), str(HERE / "bad" / "task_cycle.yaml"))
    assert code == 2
    assert "cycle" in err
    assert not (Path(str(tmp_path)) / "tributary-home" / "tributary.db").exists()
