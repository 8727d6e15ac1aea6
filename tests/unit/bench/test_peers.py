"""The peers bench's oracle and its correctness check (no timing is asserted anywhere)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.bench.peers import summarise
from tributary.bench.peers_contenders import System, run_step
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


def _run_floor(tmp_path: Path, rows: int) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """The duckdb floor through every step of a small workload, as the bench's children run it."""
    staging = tmp_path / "staging"
    steps, expected = write_files(rows, staging)
    results = [run_step(System.DUCKDB, i, staging, tmp_path / "floor", rows, False, {}) for i in range(len(steps))]
    return [s.name for s in steps], expected, results


def _swap_values(table: pa.Table, column: str, i: int, j: int) -> pa.Table:
    values = table.column(column).to_pylist()
    values[i], values[j] = values[j], values[i]
    return table.set_column(table.column_names.index(column), column, pa.array(values, table.column(column).type))


def test_a_real_table_with_a_wrong_row_fails_the_bench(tmp_path: Path) -> None:
    names, expected, results = _run_floor(tmp_path, 400)
    assert [r["digest"] for r in results] == expected  # the system measured is right: the check passes
    assert summarise(names, expected, [{"duckdb": {"steps": results}}])["correct"] is True
    final = pq.read_table(tmp_path / "floor" / "floor.parquet")
    amounts = final.column("amount").to_pylist()
    wrong_tables = {
        "a row missing (a delete applied twice)": final.slice(1),
        "a row twice (an insert applied twice)": pa.concat_tables([final, final.slice(0, 1)]),
        "one value off": final.set_column(
            final.column_names.index("amount"), "amount", pa.array([amounts[0] + 1, *amounts[1:]])
        ),
        "values moved between rows (an update on the wrong key)": _swap_values(final, "amount", 0, 1),
    }
    assert amounts[0] != amounts[1]
    for why, wrong in wrong_tables.items():
        bad = [*results[:-1], {**results[-1], "digest": digest(wrong)}]
        figures = summarise(names, expected, [{"duckdb": {"steps": bad}, "delta": {"steps": results}}])
        assert figures["correct"] is False, why
        assert figures["steps"][-1]["correct"] is False and figures["steps"][0]["correct"] is True, why
        assert figures["steps"][-1]["floor_ratio_vs_delta"] is None, why  # a wrong result has no ratio
        assert len(figures["failures"]) == 1 and f"step '{names[-1]}' duckdb: differs" in figures["failures"][0]


def _hold_memory_then(code: str) -> float:
    """Run ``code`` (it prints a number) in a child of a process that holds 400 MB."""
    holder = (
        "import subprocess, sys; ballast = bytearray(400 << 20); ballast[::4096] = b'x' * len(ballast[::4096]); "
        f"print(subprocess.run([sys.executable, '-c', {code!r}], capture_output=True, text=True).stdout)"
    )
    out = subprocess.run([sys.executable, "-c", holder], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def test_a_steps_peak_rss_is_its_own_not_the_benchs_that_started_it() -> None:
    # Linux keeps ru_maxrss across fork and exec: a child of the 400 MB holder would report >= 400 MB
    inherited = _hold_memory_then("import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    assert inherited >= 400  # the trap the bench must avoid
    own = _hold_memory_then("from tributary.bench.peers_contenders import peak_rss_mb; print(peak_rss_mb())")
    assert 0 < own < 300


def test_a_commands_peak_rss_is_its_own_not_the_benchs_that_started_it() -> None:
    # the process that measures holds 400 MB, the command 64 MB
    code = (
        "import sys; from tributary.bench.peers_contenders import measured; "
        "ballast = bytearray(400 << 20); ballast[::4096] = b'x' * len(ballast[::4096]); "
        "done, figures = measured([sys.executable, '-c', 'x = bytearray(64 << 20); x[::4096] = b\"y\" * len(x[::4096])']); "
        "assert figures['returncode'] == 0 and figures['seconds'] > 0, figures; print(figures['peak_rss_mb'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert 64 < float(out.strip().splitlines()[-1]) < 200


def test_sizing_options_reach_both_tributary_contenders(tmp_path: Path) -> None:
    """``bench peers --record-size-estimate-bytes ...`` measures the table option it names: the API
    contender's table is laid out by it (right rows, another file group count) and the command
    contender passes the same flags."""
    from tributary.bench.peers_contenders import TributaryCli

    rows = 2_000
    staging = tmp_path / "staging"
    _, expected = write_files(rows, staging)
    sizing = {"target_file_size_bytes": 64 * 1024, "record_size_estimate_bytes": 128}
    layouts = {}
    for label, chosen in (("default", {}), ("sized", sizing)):
        root = tmp_path / label
        got = run_step(System.TRIBUTARY, 0, staging, root, rows, False, chosen)
        assert got["digest"] == expected[0], label
        layouts[label] = len({p.name.split("_")[0] for p in (root / "table").glob("*.parquet")})
    assert layouts == {"default": 1, "sized": 4}  # ceil(2000 / (65536 // 128))
    command = TributaryCli(tmp_path / "cli", False, sizing).command()
    assert command[-4:] == ["--target-file-size-bytes", "65536", "--record-size-estimate-bytes", "128"]


def test_bench_peers_refuses_a_missing_workdir_and_bad_sizing_before_it_starts(tmp_path: Path) -> None:
    """Expected mistakes get one clear line naming what is wrong, exit status non-zero, no
    traceback, and nothing is measured (no DMS files written, no results)."""
    import io

    from tributary.cli import main as cli

    missing = tmp_path / "no-such-folder"
    results = tmp_path / "results"
    cases = {
        "missing workdir": (["--workdir", str(missing)], "no-such-folder"),
        "small limit above target": (
            ["--target-file-size-bytes", "1000", "--small-file-limit-bytes", "5000"],
            "small_file_limit",
        ),
        "zero estimate": (["--record-size-estimate-bytes", "0"], "record_size_estimate"),
    }
    for why, (flags, named) in cases.items():
        err = io.StringIO()
        old = cli.err_console
        cli.err_console = cli.ErrConsole(file=err, width=200)
        try:
            code = cli.main(
                ["bench", "peers", "--rows", "100", "--repeats", "1", "--results-dir", str(results), *flags]
            )
        finally:
            cli.err_console = old
        assert code != 0, why
        assert not results.exists() and not missing.exists(), why
        assert "Traceback" not in err.getvalue(), why
        if why != "missing workdir":  # click prints usage errors itself (checked below)
            assert named in err.getvalue(), (why, err.getvalue())
    done = subprocess.run(
        [sys.executable, "-m", "tributary.cli.main", "bench", "peers", "--workdir", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "no-such-folder" in done.stderr and "Traceback" not in done.stderr
