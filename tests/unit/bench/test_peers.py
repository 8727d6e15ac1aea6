"""The peers bench's oracle and its correctness check (no timing is asserted anywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.bench.peers import summarise
from tributary.bench.peers_workload import DATA_COLUMNS, KEY, OP, digest, write_files


def _replay(staging: Path, names: list[str]) -> list[dict[str, Any]]:
    """The DMS files applied row by row in plain Python: the oracle's independent check."""
    state: dict[int, dict[str, Any]] = {}
    out = []
    for name in names:
        for row in pq.read_table(staging / name).to_pylist():
            op = row.pop(OP, "I")
            if op == "D":
                state.pop(row[KEY], None)
            else:
                state[row[KEY]] = row
        rows = list(state.values())
        out.append(digest(pa.Table.from_pylist(rows) if rows else pa.table({c: [] for c in DATA_COLUMNS})))
    return out


def test_the_oracle_equals_a_row_by_row_replay_of_the_files(tmp_path: Path) -> None:
    steps, expected = write_files(2_000, tmp_path)
    assert [s.count for s in steps] == [2_000, 200, 2, 20, 200]
    assert expected == _replay(tmp_path, [s.file_name for s in steps])
    assert [d["rows"] for d in expected] == [2_000, 2_000, 2_000, 1_980, 2_180]


def test_digest_sees_one_changed_value_and_ignores_row_order(tmp_path: Path) -> None:
    _, expected = write_files(500, tmp_path)
    table = pq.read_table(tmp_path / "LOAD00000001.parquet")
    assert digest(table) == expected[0]
    assert digest(table.take(list(reversed(range(table.num_rows))))) == expected[0]
    amounts = table.column("amount").to_pylist()
    amounts[7] += 0.01
    changed = table.set_column(table.column_names.index("amount"), "amount", pa.array(amounts))
    assert digest(changed)["column_hashes"] != expected[0]["column_hashes"]


def _result(system: str, digests: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    steps = [{"step": str(i), "seconds": seconds, "peak_rss_mb": 100.0, "digest": d} for i, d in enumerate(digests)]
    return {"system": system, "steps": steps}


def test_a_wrong_table_fails_the_bench_and_is_left_out_of_the_ratio() -> None:
    good = [{"rows": 1, "key_sum": 1, "column_hashes": ["1"]}, {"rows": 2, "key_sum": 3, "column_hashes": ["2"]}]
    bad = [good[0], {"rows": 2, "key_sum": 4, "column_hashes": ["2"]}]
    run = {
        "tributary": _result("tributary", bad, 1.0),
        "tributary_cli": _result("tributary_cli", good, 3.0),
        "delta": _result("delta", good, 2.0),
        "duckdb": {"system": "duckdb", "error": "boom"},
    }
    figures = summarise(["a", "b"], good, [run])
    assert figures["correct"] is False
    assert figures["steps"][0]["ratio_vs_delta"] == 0.5
    assert figures["steps"][1]["ratio_vs_delta"] is None
    assert figures["steps"][1]["correct"] is False
    assert any("step 'b' tributary: differs in key_sum" in f for f in figures["failures"])
    assert any("duckdb: failed: boom" in f for f in figures["failures"])
