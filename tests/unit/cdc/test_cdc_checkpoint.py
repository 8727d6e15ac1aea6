"""The checkpoint kept in commit extraMetadata: pending files, reloads, bounded size."""

from __future__ import annotations

import json

from tributary.cdc.checkpoint import K_FILES, K_RECENT, Checkpoint, applied_files
from tributary.cdc.files import CdcFile, FileKind


def cdc(n: int, folder: str = "") -> CdcFile:
    name = f"20261123-{n:010d}.csv"
    return CdcFile(folder + name, "/" + name, 5, 0, FileKind.CDC, "csv")


def load(n: int, size: int = 5, mtime: int = 1) -> CdcFile:
    name = f"LOAD{n:08X}.csv"
    return CdcFile(name, "/" + name, size, mtime, FileKind.LOAD, "csv")


def roundtrip(cp: Checkpoint, applied: list[CdcFile], reload: bool = False, keep: int = 512) -> Checkpoint:
    nxt = cp.advance(applied, reload=reload, keep=keep)
    meta = nxt.to_metadata(applied, reload=reload, mode="current")
    assert applied_files(meta) == [f.path for f in applied]
    return Checkpoint.from_metadata(meta)


def test_empty_checkpoint_everything_pending() -> None:
    cp = Checkpoint.from_metadata({"some.other": "x"})
    assert cp.empty
    files = [load(1), cdc(1)]
    assert cp.pending(files) == files
    assert not cp.is_reload(files)


def test_applied_files_are_not_pending_again() -> None:
    cp = roundtrip(Checkpoint(), [load(1), cdc(1), cdc(2)])
    assert cp.pending([load(1), cdc(1), cdc(2), cdc(3)]) == [cdc(3)]
    assert cp.files_total == 3


def test_initial_load_split_across_runs_is_not_a_reload() -> None:
    cp = roundtrip(Checkpoint(), [load(1)])
    assert not cp.is_reload([load(2)])


def test_rewritten_load_file_is_a_reload() -> None:
    cp = roundtrip(Checkpoint(), [load(1), load(2)])
    again = load(1, size=9, mtime=2)
    assert cp.pending([again, load(2)]) == [again]
    assert cp.is_reload([again])
    after = roundtrip(cp, [again], reload=True)
    assert after.generation == ("LOAD00000001.csv",)
    # LOAD00000002 of the old load was not rewritten (yet): it stays applied, not pending
    assert after.pending([again, load(2)]) == []
    # the reload's second file lands later: it extends the reload (upsert), no second overwrite
    second = load(2, size=7, mtime=3)
    assert after.pending([again, second]) == [second]
    assert not after.is_reload([second])
    extended = roundtrip(after, [second])
    assert extended.generation == ("LOAD00000001.csv", "LOAD00000002.csv")
    # a further rewrite of LOAD00000001 is the next reload
    assert extended.is_reload([load(1, size=9, mtime=4)])


def test_first_load_after_cdc_only_history_is_a_reload() -> None:
    cp = roundtrip(Checkpoint(), [cdc(1)])
    assert cp.is_reload([load(1)])
    cp = roundtrip(Checkpoint(), [load(1), cdc(1)])
    assert cp.is_reload([load(1, mtime=7)])
    assert not cp.is_reload([load(2)])  # a new path extends the load


def test_load_identities_are_bounded() -> None:
    cp = Checkpoint()
    for gen in range(30):
        cp = roundtrip(cp, [load(n, mtime=gen) for n in range(1, 11)], reload=gen > 0, keep=25)
    assert len(cp.loads) == 100 and len(cp.generation) == 10


def test_recent_list_is_bounded_and_floor_covers_old_files() -> None:
    cp = Checkpoint()
    for start in range(0, 1000, 100):
        cp = roundtrip(cp, [cdc(n) for n in range(start, start + 100)], keep=50)
    assert len(cp.recent) == 50
    assert cp.pending([cdc(n) for n in range(1000)]) == []
    assert cp.pending([cdc(1000)]) == [cdc(1000)]
    meta = cp.to_metadata([], reload=False, mode="current")
    assert len(json.loads(meta[K_RECENT])) == 50
    assert json.loads(meta[K_FILES]) == []
    assert sum(len(v) for v in meta.values()) < 50 * 40 + 500


def test_late_file_between_floor_and_watermark_is_pending() -> None:
    cp = roundtrip(Checkpoint(), [cdc(1), cdc(3)])
    assert cp.pending([cdc(1), cdc(2), cdc(3)]) == [cdc(2)]


def test_date_folders_order_by_name_not_folder() -> None:
    cp = roundtrip(Checkpoint(), [cdc(5, "2026/11/01/")])
    assert cp.pending([cdc(4, "2026/11/02/"), cdc(6, "2026/10/31/")]) == [cdc(4, "2026/11/02/"), cdc(6, "2026/10/31/")]
