from __future__ import annotations

import zipfile
from pathlib import Path

from tests.conftest import HUDI_FIXTURES, needs_shared_samples
from tributary.hudi import avro, avro_schemas


@needs_shared_samples
def test_reads_spark_v8_commit_and_round_trips(tmp_path: Path) -> None:
    z = HUDI_FIXTURES / "spark-written" / "sample_table__cow__v8_complexkeygen_hivestyle.zip"
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path)
    commits = [p for p in tmp_path.rglob("*.commit") if "_" in p.name and "__MACOSX" not in p.parts]
    assert commits
    schema, records = avro.read_container(commits[0].read_bytes())
    assert schema["name"] == "HoodieCommitMetadata"
    meta = records[0]
    assert meta["operationType"] in ("INSERT", "UPSERT", "BULK_INSERT")
    assert "schema" in meta["extraMetadata"]
    again = avro.read_container(avro.write_container(avro_schemas.COMMIT_METADATA, records))[1]
    assert again == records
