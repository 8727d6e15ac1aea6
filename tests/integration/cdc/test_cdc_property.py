"""Property: random DMS streams applied over several runs equal a plain-Python oracle, as read
back by hudi-rs (keys, ops, precombine ties, partition moves, new columns, reruns)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cdc_factory import DmsFolder, Oracle, completed_commits, snapshot_rows
from tributary.cdc import CdcOptions, apply_pending
from tributary.cdc.checkpoint import applied_files

COLS = ["id", "ts", "region", "val", "note"]
BASE = pa.schema(
    [("Op", pa.string()), ("id", pa.int64()), ("ts", pa.int64()), ("region", pa.string()), ("val", pa.int64())]
)
WITH_NOTE = BASE.append(pa.field("note", pa.string()))


def _change(band: int) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "Op": st.sampled_from("IIUUD"),
            "id": st.integers(0, 7),
            "ts": st.integers(band * 100, band * 100 + 3),  # small range: many precombine ties
            "region": st.sampled_from(["a", "b", "c"]),  # a changed region is a partition move
            "val": st.one_of(st.none(), st.integers(-5, 5)),
        }
    )


@st.composite
def streams(draw: st.DrawFn) -> list[list[tuple[bool, list[dict]]]]:
    """Runs of files; each file is (has_note_column, rows). Later runs have greater ts bands."""
    runs = []
    for band in range(draw(st.integers(1, 3))):
        files = []
        for _ in range(draw(st.integers(1, 3))):
            rows = draw(st.lists(_change(band), min_size=0, max_size=6))
            with_note = draw(st.booleans())
            if with_note:
                rows = [{**r, "note": draw(st.one_of(st.none(), st.text("xyz", max_size=2)))} for r in rows]
            files.append((with_note, rows))
        runs.append(files)
    return runs


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    runs=streams(),
    version=st.sampled_from([6, 8]),
    initial_load=st.booleans(),
    partitioned=st.booleans(),
    reloads=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_random_streams_match_oracle(
    runs: list, version: int, initial_load: bool, partitioned: bool, reloads: list[bool]
) -> None:
    """``reloads[k]``: run k (k > 0) starts with a full load (LOAD00000001): a reload when one was
    applied before (new content), else a late first load, upserted like any newer change. A
    generation's rows carry the band's smallest ts (DMS stamps load rows with the load time, so
    the changes after it are not older)."""
    opts = CdcOptions("prop", ("id",), "ts", partition_fields=("region",) if partitioned else (), table_version=version)
    oracle = Oracle(("id",), "ts")
    with tempfile.TemporaryDirectory() as tmp:
        dms, target = DmsFolder(Path(tmp) / "src"), str(Path(tmp) / "lake" / "prop")
        all_files: list[str] = []
        for run_no, files in enumerate(runs):
            written = []
            loads_here = run_no > 0 and reloads[run_no]
            reload = loads_here and (initial_load or any(reloads[1:run_no]))
            for file_no, (with_note, rows) in enumerate(files):
                if file_no == 0 and (loads_here or (run_no == 0 and initial_load)):
                    rows = [
                        {**{k: v for k, v in r.items() if k != "Op"}, "ts": run_no * 100}
                        for r in rows
                        if r["Op"] != "D"
                    ]
                    schema = (WITH_NOTE if with_note else BASE).remove(0).with_metadata({"generation": str(run_no)})
                    path = dms.load(rows, schema=schema, counter=1)
                    os.utime(path, ns=(time.time_ns() + run_no * 10**9,) * 2)
                else:
                    path = dms.cdc(rows, schema=WITH_NOTE if with_note else BASE)
                written.append(rows)
                all_files.append(path.relative_to(dms.root).as_posix())
            result = apply_pending(str(dms.root), target, opts)
            oracle.apply_run(written, reload=reload)
            assert result.reload == reload
            assert list(result.files) == all_files[len(all_files) - len(files) :]
            assert result.changes == sum(len(r) for r in written)
            assert snapshot_rows(target, [c for c in COLS if c != "note" or _has_note(runs, run_no)], ["id"]) == (
                oracle.snapshot([c for c in COLS if c != "note" or _has_note(runs, run_no)])
            )
            # an immediate rerun applies nothing and writes no commit
            n_commits = len(completed_commits(target))
            assert apply_pending(str(dms.root), target, opts).instant is None
            assert len(completed_commits(target)) == n_commits
        applied = [f for c in completed_commits(target) for f in applied_files(c["extra"])]
        assert applied == all_files  # each file exactly once, in DMS order


def _has_note(runs: list, upto: int) -> bool:
    return any(with_note for files in runs[: upto + 1] for with_note, _ in files)
