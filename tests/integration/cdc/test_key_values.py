"""Key and partition values are data: through `tributary cdc apply` and the file processor.

A partition value that is a path (``..``, ``a/b``) never writes outside the table or nests
partitions; a composite key Hudi would spell the same for two rows never merges them. Such a
file is refused with its name, the field and the value; the table stays as it was and the file
is not applied. A table with Hudi's URL-encoding option gets the values %-escaped instead.
The processor's side (attempts, quarantine) is in tests/integration/processing/test_key_values.py.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tests.cdc_factory import DmsFolder, completed_commits, hudi_snapshot, table_fingerprint
from tributary.cli.main import main
from tributary.errors import HudiError
from tributary.hudi import HudiTable, TableOptions, WriteOperation


def _apply(src: Path, target: Path, *extra: str) -> list[str]:
    return ["cdc", "apply", "--source", str(src), "--target", str(target), "--precombine", "ts", *extra]


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("hive", [True, False])
@pytest.mark.parametrize("value", ["../../../../escaped", "..", "a/b", "x/../../y"])
def test_partition_value_that_is_a_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hive: bool, value: str
) -> None:
    dms, target = DmsFolder(tmp_path / "src"), tmp_path / "lake" / "deep" / "t"
    dms.load([{"id": 1, "ts": 1, "region": "a"}, {"id": 2, "ts": 1, "region": "b"}])
    args = _apply(dms.root, target, "--record-key", "id", "--partition-fields", "region")
    args += [] if hive else ["--no-hive-style"]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    bad = dms.cdc([{"Op": "I", "id": 3, "ts": 2, "region": value}, {"Op": "U", "id": 1, "ts": 2, "region": "a"}])
    before, outside = table_fingerprint(target), _files_under(tmp_path) - _files_under(target)
    if hive and value == "..":  # "region=.." is a plain folder name inside the table: accepted
        assert main(args) == 0, capsys.readouterr().err
        assert (target / "region=..").is_dir() and _files_under(tmp_path) - _files_under(target) == outside
        return
    assert main(args) != 0
    err = capsys.readouterr().err
    assert bad.name in err and "'region'" in err and value in err
    assert "Traceback" not in err
    assert table_fingerprint(target) == before  # the table is untouched
    assert _files_under(tmp_path) - _files_under(target) == outside  # nothing written outside it
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "lake" / "escaped").exists()
    assert main(args) != 0  # the file stays pending, not marked applied
    assert bad.name in capsys.readouterr().err


def test_composite_keys_that_hudi_would_collide_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hudi spells both (a='1,b:2', b='3') and (a='1', b='2,b:3') as 'a:1,b:2,b:3' (no escaping)."""
    dms, target = DmsFolder(tmp_path / "src"), tmp_path / "lake" / "t"
    args = _apply(dms.root, target, "--record-key", "a,b")
    dms.load([{"a": "1", "b": "2,b:3", "ts": 1, "v": "first"}])
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert [r["_hoodie_record_key"] for r in hudi_snapshot(target, ["_hoodie_record_key"]).to_pylist()] == [
        "a:1,b:2,b:3"
    ]
    commits = completed_commits(target)
    bad = dms.cdc([{"Op": "I", "a": "1,b:2", "b": "3", "ts": 2, "v": "second"}])
    assert main(args) != 0
    err = capsys.readouterr().err
    assert bad.name in err and "'a'" in err and "'1,b:2'" in err and "silently merge" in err
    assert completed_commits(target) == commits
    assert hudi_snapshot(target, ["v"]).column("v").to_pylist() == ["first"]  # not merged into one row


def test_literal_null_marker_in_composite_key_is_refused(tmp_path: Path) -> None:
    """Hudi writes a null composite-key part as '__null__': a literal '__null__' would share its key."""
    table = HudiTable.create(str(tmp_path / "t"), TableOptions("t", ("a", "b"), "ts"))
    rows = pa.table({"a": ["1", "1"], "b": [None, "x"], "ts": [1, 1]})
    table.write(upserts=rows, operation=WriteOperation.UPSERT)
    later = pa.table({"a": ["1"], "b": ["__null__"], "ts": [2]})
    with pytest.raises(HudiError, match=r"'b'.*'__null__'.*two different rows would get one key"):
        table.write(upserts=later, operation=WriteOperation.UPSERT)
    assert sorted(hudi_snapshot(tmp_path / "t", ["_hoodie_record_key"]).column(0).to_pylist()) == [
        "a:1,b:__null__",
        "a:1,b:x",
    ]


def test_urlencoded_table_escapes_partition_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "lake" / "t"
    opts = TableOptions("t", ("id",), "ts", ("region",), hive_style_partitioning=False, partition_path_urlencode=True)
    HudiTable.create(str(target), opts)
    dms = DmsFolder(tmp_path / "src")
    dms.load(
        [{"id": 1, "ts": 1, "region": "a/b"}, {"id": 2, "ts": 1, "region": "a"}, {"id": 3, "ts": 1, "region": "x:y"}]
    )
    args = _apply(dms.root, target, "--record-key", "id", "--partition-fields", "region", "--no-hive-style")
    assert main(args) == 0, capsys.readouterr().err
    rows = hudi_snapshot(target, ["id", "region", "_hoodie_partition_path"]).to_pylist()
    assert sorted((r["id"], r["region"], r["_hoodie_partition_path"]) for r in rows) == [
        (1, "a/b", "a%2Fb"),
        (2, "a", "a"),
        (3, "x:y", "x%3Ay"),
    ]
    assert {p.name for p in target.iterdir() if not p.name.startswith(".")} == {"a%2Fb", "a", "x%3Ay"}
    # ".." is not escaped by Hudi's encoding (it has no '/'): still refused
    bad = dms.cdc([{"Op": "I", "id": 4, "ts": 2, "region": ".."}])
    assert main(args) != 0
    assert bad.name in capsys.readouterr().err
