"""The demo's expected results are bookkeeping done while generating; replaying the landed files
row by row with DMS semantics (plain Python, no engine) must give the same answer."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tributary.demo import dataset


def _replay(files: dict[str, bytes], table: int) -> dict[int, dict]:
    """Full load first, then CDC files in name order (DMS timestamps), each row in file order."""
    mine = {p: b for p, b in files.items() if p.startswith(f"table_{table}/")}
    loads = sorted(p for p in mine if p.split("/")[-1].startswith("LOAD"))
    changes = sorted((p for p in mine if p not in loads), key=lambda p: p.split("/")[-1])
    state: dict[int, dict] = {}
    for path in loads:
        for row in pq.read_table(io.BytesIO(mine[path])).to_pylist():
            state[row["trip_id"]] = row
    for path in changes:
        for row in pq.read_table(io.BytesIO(mine[path])).to_pylist():
            if row.pop("Op") == "D":
                state.pop(row["trip_id"], None)
            else:
                state[row["trip_id"]] = row
    return state


def test_expected_results_match_a_plain_replay_of_the_landed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset, "LOAD_FILE_ROWS", 300)  # several LOAD files per table
    files: dict[str, bytes] = {}
    phases: list[tuple[str, int]] = []
    expected = dataset.generate(
        files.__setitem__, tmp_path / "expected.json", 1000, after_phase=lambda p: phases.append((p, len(files)))
    )
    # the full load lands alone, then three waves of CDC files
    assert len(files) == dataset.planned_files(1000) == 80
    assert phases == [("full load", 18 * 4), ("CDC wave 1", 76), ("CDC wave 3", 78), ("CDC wave 5", 80)]
    for t in range(1, 19):
        state = _replay(files, t)
        exp = expected[f"taxi_trips.table_{t}"]
        assert exp["rows"] == len(state), t
        assert exp["fare_sum"] == round(sum(r["fare_amount"] for r in state.values()), 2), t
        assert exp["tip_sum"] == round(sum(r["tip_amount"] for r in state.values()), 2), t
        assert exp["files"] == sum(p.startswith(f"table_{t}/") for p in files), t
    # the ODP test's changes: inserts, updates, deletes, and table_10's key ending as its 6th version
    assert [expected[f"taxi_trips.table_{t}"]["rows"] for t in (1, 2, 3, 4)] == [1010, 1000, 990, 1000]
    assert expected["taxi_trips.table_2"]["tip_sum"] == round(
        sum(r["tip_amount"] for r in _replay({p: b for p, b in files.items() if "LOAD" in p}, 2).values()) + 10, 2
    )
    tracked = expected["taxi_trips.table_10"]["tracked_key"]
    assert _replay(files, 10)[tracked["trip_id"]]["fare_amount"] == tracked["fare_amount"] == 6.0
    assert expected["taxi_trips.table_10"]["files"] == 4 + 5


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first: dict[str, bytes] = {}
    second: dict[str, bytes] = {}
    dataset.generate(first.__setitem__, tmp_path / "a.json", 200)
    dataset.generate(second.__setitem__, tmp_path / "b.json", 200)
    assert first.keys() == second.keys()
    assert all(pq.read_table(io.BytesIO(first[k])).equals(pq.read_table(io.BytesIO(second[k]))) for k in first)
