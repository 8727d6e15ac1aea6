"""Large and hostile config gives a clear answer, never a RecursionError or unbounded memory."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

BASE = Path(__file__).parent / "base"


def _chain(path: Path, length: int, *, closed: bool = False) -> Path:
    rows = []
    for i in range(length):
        up = f"t{i - 1}" if i else (f"t{length - 1}" if closed else None)
        rows.append(
            f"      - {{task_id: t{i}, template_id: echo, params: {{message: hi}}"
            + (f", upstream: [{up}]}}" if up else "}")
        )
    path.write_text("flows:\n  - flow_id: chain\n    manual: true\n    tasks:\n" + "\n".join(rows) + "\n")
    return path


def test_a_2000_task_chain_validates_applies_and_becomes_a_dag(tmp_path: Path, migrated_db: str) -> None:
    chain = _chain(tmp_path / "chain.yaml", 2000)
    code, out, err = run_cli("config", "validate", str(BASE), str(chain))
    assert code == 0, err
    assert "2 flows" in out

    from tributary.dagfactory.loader import build_dags

    code, _, err = run_cli("config", "apply", str(BASE), str(chain))
    assert code == 0, err
    dag = build_dags(strict=True)["tributary__chain"]
    assert len(dag.tasks) == 2000
    assert dag.get_task("t1999").upstream_task_ids == {"t1998"}


def test_a_2000_task_cycle_is_named(tmp_path: Path) -> None:
    chain = _chain(tmp_path / "chain.yaml", 2000, closed=True)
    code, _, err = run_cli("config", "validate", str(BASE), str(chain))
    assert code == 2
    assert "Traceback" not in err and "RecursionError" not in err
    assert f"{chain}:4: flows row 'chain' field 'tasks': task dependencies form a cycle: t0 -> t1999 -> t1998" in err
    assert "-> t1996 -> ... (1991 more) -> t4 -> t3" in err
