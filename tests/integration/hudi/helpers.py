"""Reading tables back with hudi-rs, the independent reader."""

from __future__ import annotations

import hudi
import pyarrow as pa

from tributary.storage import hudi_storage_options


def table(uri: str) -> hudi.HudiTable:
    return hudi.HudiTable(uri, hudi_storage_options(uri) or None)


def _rows(batches: list[pa.RecordBatch], key: str) -> list[dict]:
    if not batches:
        return []
    return sorted(pa.Table.from_batches(batches).to_pylist(), key=lambda r: str(r[key]))


def snapshot(uri: str, key: str = "id") -> list[dict]:
    return _rows(table(uri).read(), key)


def as_of(uri: str, ts: str, key: str = "id") -> list[dict]:
    return _rows(table(uri).read(hudi.HudiReadOptions().with_as_of_timestamp(ts)), key)


def incremental(uri: str, start: str, end: str, key: str = "id") -> list[dict]:
    opts = (
        hudi.HudiReadOptions()
        .with_query_type(hudi.HudiQueryType.Incremental)
        .with_start_timestamp(start)
        .with_end_timestamp(end)
    )
    return _rows(table(uri).read(opts), key)


def data(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.startswith("_hoodie_")} for r in rows]
