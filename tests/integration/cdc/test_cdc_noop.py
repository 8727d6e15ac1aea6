"""`tributary cdc apply` with nothing new (issue 14): it answers from a listing, the timeline and
the ledger without loading pyarrow, and a file that arrives, arrives late or is re-uploaded after
such a run is still found and applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cdc_factory import DmsFolder, completed_commits, hudi_snapshot
from tributary.cli.main import main

NOTHING = "t: files=0 inserted=0 updated=0 deleted=0 instant=-"

# the command in a fresh interpreter: its exit status, output, and which heavy modules it loaded
_CHILD = """
import json, sys
from tributary.cli.main import main
code = main(sys.argv[1:])
loaded = sorted(m for m in ("pyarrow", "numpy", "pyarrow.parquet", "tributary.cdc.merge") if m in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _args(dms: DmsFolder, target: str) -> list[str]:
    return ["cdc", "apply", "--source", str(dms.root), "--target", target, "--record-key", "id", "--precombine", "ts"]


def _child(args: list[str]) -> tuple[list[str], dict[str, object]]:
    """Run the command in a new Python process: its output lines, then what it reported."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, check=False, env=dict(os.environ)
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, done.stderr
    return lines[:-1], json.loads(lines[-1])


def _rows(target: str) -> list[dict[str, object]]:
    return sorted(hudi_snapshot(target, ["id", "ts", "v"]).to_pylist(), key=lambda r: r["id"])


def _applied_table(tmp_path: Path) -> tuple[DmsFolder, str]:
    """A table that applied a full load and two change files (one under a date folder)."""
    dms, target = DmsFolder(tmp_path / "src", date_folders=True), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "v": "a"}, {"id": 2, "ts": 1, "v": "b"}])
    dms.cdc([{"Op": "U", "id": 1, "ts": 2, "v": "a2"}])
    dms.cdc([{"Op": "I", "id": 3, "ts": 3, "v": "c"}])
    assert main(_args(dms, target)) == 0
    return dms, target


def test_noop_answers_without_pyarrow_and_writes_nothing(tmp_path: Path) -> None:
    dms, target = _applied_table(tmp_path)
    commits = completed_commits(target)
    output, child = _child(_args(dms, target))
    assert output == [NOTHING]
    assert child == {"code": 0, "loaded": []}
    assert completed_commits(target) == commits


def test_bad_options_are_still_refused_on_a_noop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing to apply does not skip checking the options against the table."""
    dms, target = _applied_table(tmp_path)
    capsys.readouterr()
    assert main([*_args(dms, target), "--partition-fields", "v"]) == 1
    assert "partition" in capsys.readouterr().err


def test_new_change_file_after_a_noop_is_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dms, target = _applied_table(tmp_path)
    assert _child(_args(dms, target))[0] == [NOTHING]
    dms.cdc([{"Op": "D", "id": 2, "ts": 4, "v": "b"}])
    capsys.readouterr()
    assert main(_args(dms, target)) == 0
    assert "files=1 inserted=0 updated=0 deleted=1" in capsys.readouterr().out
    assert _rows(target) == [{"id": 1, "ts": 2, "v": "a2"}, {"id": 3, "ts": 3, "v": "c"}]


def test_late_change_file_after_a_noop_is_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A change file named before the applied ones (DMS wrote it earlier, it arrived now)."""
    dms, target = _applied_table(tmp_path)
    assert _child(_args(dms, target))[0] == [NOTHING]
    DmsFolder._write(
        dms.root / "20261123-0000000000.parquet", [{"Op": "I", "id": 4, "ts": 1, "v": "d"}], "parquet", None, True
    )
    capsys.readouterr()
    assert main(_args(dms, target)) == 0
    assert "files=1 inserted=1" in capsys.readouterr().out
    assert [r["id"] for r in _rows(target)] == [1, 2, 3, 4]


def test_reuploaded_load_file_after_a_noop_is_a_reload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DMS reloads the table: LOAD00000001 comes back with other rows under the same name."""
    dms, target = _applied_table(tmp_path)
    assert _child(_args(dms, target))[0] == [NOTHING]
    load = dms.load([{"id": 7, "ts": 10, "v": "g"}, {"id": 8, "ts": 10, "v": "h"}], counter=1)
    later = time.time_ns() + 5 * 10**9
    os.utime(load, ns=(later, later))
    capsys.readouterr()
    assert main(_args(dms, target)) == 0
    assert "(reload)" in capsys.readouterr().out
    assert [r["id"] for r in _rows(target)] == [7, 8]


def test_touched_load_file_stays_a_noop(tmp_path: Path) -> None:
    """Same content with a new mtime: the content decides, nothing is applied."""
    dms, target = _applied_table(tmp_path)
    later = time.time_ns() + 5 * 10**9
    os.utime(dms.root / "LOAD00000001.parquet", ns=(later, later))
    output, child = _child(_args(dms, target))
    assert output == [NOTHING] and child["code"] == 0


def test_reuploaded_change_file_after_a_noop_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dms, target = _applied_table(tmp_path)
    assert _child(_args(dms, target))[0] == [NOTHING]
    changed = sorted(dms.root.rglob("20261123-*.parquet"))[0]
    DmsFolder._write(changed, [{"Op": "U", "id": 1, "ts": 9, "v": "EVIL", "extra": 1}], "parquet", None, True)
    capsys.readouterr()
    assert main(_args(dms, target)) == 1
    captured = capsys.readouterr()
    assert "refused=1" in captured.out and "re-uploaded with other content" in captured.err
    assert _rows(target)[0] == {"id": 1, "ts": 2, "v": "a2"}
