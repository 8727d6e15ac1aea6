"""`cdc apply` refuses key, ordering and partition columns named Op or _hoodie_* before it
writes anything (`--precombine Op` used to order changes by I/U/D and drop the update)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cdc_factory import DmsFolder
from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("option", "column", "message"),
    [
        ("--precombine", "Op", "'Op' is the DMS operation column"),
        ("--precombine", "op", "'op' is the DMS operation column"),
        ("--record-key", "Op", "'Op' is the DMS operation column"),
        ("--record-key", "_hoodie_record_key", "'_hoodie_record_key' is a column Hudi or Tributary adds"),
        ("--partition-fields", "_hoodie_partition_path", "'_hoodie_partition_path' is a column Hudi"),
    ],
)
def test_reserved_columns_are_refused(tmp_path: Path, option: str, column: str, message: str) -> None:
    folder = DmsFolder(tmp_path / "src")
    folder.load([{"id": 1, "ts": 1, "v": "a"}])
    folder.cdc([{"Op": "U", "id": 1, "ts": 2, "v": "b"}])
    target = tmp_path / "t"
    args = ["--record-key", "id"] if option != "--record-key" else []
    code, _, err = run_cli("cdc", "apply", "--source", str(folder.root), "--target", str(target), *args, option, column)
    assert code == 1
    assert f"error: {option}: {message}" in err.replace("\n", " ")
    assert not target.exists()
