"""One enum per vocabulary, shared by both engines: write operations, table types, storage modes."""

from __future__ import annotations

import pytest

from tributary.modes import StorageMode, TableType, WriteOperationType


def test_operation_names_are_hudis_in_both_spellings() -> None:
    # the commit's operationType holds the name, the datasource option the lower-case value
    assert WriteOperationType.INSERT_OVERWRITE_TABLE == "INSERT_OVERWRITE_TABLE"
    assert WriteOperationType.INSERT_OVERWRITE_TABLE.option == "insert_overwrite_table"
    for op in WriteOperationType:
        assert WriteOperationType(op.option) is op
        assert WriteOperationType(op.value) is op
    assert WriteOperationType.parse(" Upsert ") is WriteOperationType.UPSERT
    assert WriteOperationType.parse("merge") is None and WriteOperationType.parse(3) is None
    with pytest.raises(ValueError):
        WriteOperationType("merge")


def test_both_engines_and_the_writer_use_the_one_operation_enum() -> None:
    from tributary.cdc.merge import WritePlan
    from tributary.hudi import WriteOperation
    from tributary.spark.options import OPERATIONS, hudi_options
    from tributary.spark.semantics import SparkPlan

    assert WriteOperation is WriteOperationType
    assert WritePlan.__annotations__["operation"] == SparkPlan.__annotations__["operation"] == "WriteOperationType"
    assert set(OPERATIONS) <= set(WriteOperationType)
    from tributary.config.table_options import RawTableOptions

    # the typed options a RawTable dump carries (the Spark job refuses hand-written ones)
    options = RawTableOptions().model_dump(mode="json")
    table = {"table_name": "t", "record_key_fields": ["id"], "catalog": "none", "options": options}
    for given in (WriteOperationType.UPSERT, "upsert", "UPSERT"):
        assert hudi_options(table, given)["hoodie.datasource.write.operation"] == "upsert"
    with pytest.raises(ValueError, match="unknown Hudi write operation 'DELETE'"):
        hudi_options(table, WriteOperationType.DELETE)  # not an operation the Spark run writes


def test_table_types_translate_in_one_place() -> None:
    from tributary.config.models import TableType as ConfigTableType
    from tributary.spark.options import hudi_options

    assert ConfigTableType is TableType
    assert TableType("cow") is TableType("copy_on_write") is TableType.COPY_ON_WRITE
    assert TableType.parse("MOR") is TableType.MERGE_ON_READ and TableType.parse("log") is None
    from tributary.config.table_options import RawTableOptions

    options = RawTableOptions().model_dump(mode="json")
    table = {
        "table_name": "t",
        "record_key_fields": ["id"],
        "catalog": "none",
        "table_type": "MERGE_ON_READ",
        "options": options,
    }
    opts = hudi_options(table, "upsert")
    assert opts["hoodie.datasource.write.table.type"] == "MERGE_ON_READ" and "hoodie.metadata.enable" not in opts
    cow = hudi_options({**table, "table_type": "COPY_ON_WRITE"}, "upsert")
    assert cow["hoodie.datasource.write.table.type"] == "COPY_ON_WRITE" and cow["hoodie.metadata.enable"] == "false"


def test_the_embedded_writer_refuses_a_merge_on_read_table_by_any_spelling() -> None:
    from tributary.errors import UnsupportedTableError
    from tributary.hudi.options import TableOptions

    props = TableOptions("t", ("id",)).to_properties()
    assert props["hoodie.table.type"] == "COPY_ON_WRITE"
    assert TableOptions.from_properties(props, "t").table_name == "t"
    for spelling in ("MERGE_ON_READ", "merge_on_read", "SOMETHING_ELSE"):
        with pytest.raises(UnsupportedTableError, match="only writes Copy-on-Write"):
            TableOptions.from_properties({**props, "hoodie.table.type": spelling}, "t")


def test_storage_mode_is_one_enum() -> None:
    from tributary.cdc.options import StorageMode as CdcStorageMode
    from tributary.config.models import StorageMode as ConfigStorageMode

    assert CdcStorageMode is ConfigStorageMode is StorageMode
    assert [m.value for m in StorageMode] == ["current", "historical"]
