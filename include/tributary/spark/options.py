"""Hudi Spark datasource options for one raw table (pure: a config dict in, a dict out).

The table config is ``RawTable.model_dump(mode="json")`` (plain JSON types), so the job on the
cluster needs neither pydantic nor the rest of Tributary. Its ``options`` are the typed table
options (:class:`tributary.config.table_options.RawTableOptions`, validated when the config
loaded): every typed option with its value, plus the ``hoodie.*`` pass-through keys.
:func:`hudi_options` is their one translation into the Spark engine's writer settings
(retention, archival, file sizing, compaction, catalog sync; pass-through keys last, so they win), and
:mod:`tributary.spark.semantics` reads the CSV options from :func:`table_options`.

A table keeps one merge behaviour whichever engine writes it: the latest ``precombine_field``
wins, across runs too (event-time ordering: a change older than the stored row loses). Table
version 6 says so with an event-time payload (``DefaultHoodieRecordPayload`` ordering),
version 8 with ``hoodie.record.merge.mode=EVENT_TIME_ORDERING``, as the embedded writer's
``hoodie.properties`` do. Copy-on-Write tables are written without Hudi's metadata table, which
the embedded writer cannot keep in step, so a cadence can move between the engines (a table's
own ``hoodie.metadata.enable`` option ties it to Spark).

One datasource write per table and run (:func:`write_options`): deletes travel in the same
upsert, marked by Hudi's ``_hoodie_is_deleted`` column, and the commit carries the table's
checkpoint (``tributary.cdc.*`` keys, copied into the commit's ``extraMetadata`` because they
start with ``hoodie.datasource.write.commitmeta.key.prefix``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tributary.modes import TableType, WriteOperationType

OP_COLUMN = "Op"
CHANGE_ID_COLUMN = "_tributary_change_id"
CHECKPOINT_PREFIX = "tributary.cdc."
#: Hudi's delete marker: a row of an upsert with this column true deletes its key
DELETE_FLAG = "_hoodie_is_deleted"
#: written next to the checkpoint: which engine made the commit
ENGINE_KEY = CHECKPOINT_PREFIX + "engine"
#: Hudi's Spark writer copies every write option whose key starts with this option's value into
#: the commit's extraMetadata (HoodieSparkSqlWriter, DataSourceWriteOptions.COMMIT_METADATA_KEYPREFIX)
COMMIT_META_PREFIX_KEY = "hoodie.datasource.write.commitmeta.key.prefix"

#: the operations a Spark run of cdc_to_hudi writes with
OPERATIONS = (WriteOperationType.UPSERT, WriteOperationType.INSERT, WriteOperationType.INSERT_OVERWRITE_TABLE)

#: Hudi's writer-schema override: the upsert's rows carry :data:`DELETE_FLAG`, the table does not
WRITE_SCHEMA_KEY = "hoodie.write.schema"
#: event-time ordering (the DefaultHoodieRecordPayload comparison) that honours the delete flag of
#: a row whose written schema leaves the flag out (DefaultHoodieRecordPayload re-reads the flag
#: from the row as written, so with the override a flagged delete would be upserted instead)
EVENT_TIME_PAYLOAD = "org.apache.hudi.common.model.EventTimeAvroPayload"
#: Hudi's default payload: the incoming row wins (a table without a precombine field)
LATEST_PAYLOAD = "org.apache.hudi.common.model.OverwriteWithLatestAvroPayload"
EVENT_TIME_ORDERING = "EVENT_TIME_ORDERING"

NONPARTITIONED_KEYGEN = "org.apache.hudi.keygen.NonpartitionedKeyGenerator"
SIMPLE_KEYGEN = "org.apache.hudi.keygen.SimpleKeyGenerator"
COMPLEX_KEYGEN = "org.apache.hudi.keygen.ComplexKeyGenerator"
MULTIPART_EXTRACTOR = "org.apache.hudi.hive.MultiPartKeysValueExtractor"
NONPARTITIONED_EXTRACTOR = "org.apache.hudi.hive.NonPartitionedExtractor"

#: Spark settings a Hudi job needs (Glue: ``--conf``; any Spark: ``spark-submit --conf``)
SPARK_CONF = {
    "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
    "spark.sql.extensions": "org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.hudi.catalog.HoodieCatalog",
    "spark.kryo.registrator": "org.apache.spark.HoodieSparkKryoRegistrar",
    # Glue's Hudi guide: Spark must not read Hudi tables of the catalog as plain parquet
    "spark.sql.hive.convertMetastoreParquet": "false",
}


def historical(table: Mapping[str, Any]) -> bool:
    return str(table.get("storage_mode", "current")) == "historical"


def hudi_record_key_fields(table: Mapping[str, Any]) -> list[str]:
    """The Hudi key: the record key, plus the change id in historical mode."""
    keys = [str(k) for k in table["record_key_fields"]]
    return [*keys, CHANGE_ID_COLUMN] if historical(table) else keys


def key_generator(table: Mapping[str, Any]) -> str:
    partitions = list(table.get("partition_fields") or ())
    if not partitions:
        return NONPARTITIONED_KEYGEN
    if len(partitions) == 1 and len(hudi_record_key_fields(table)) == 1:
        return SIMPLE_KEYGEN
    return COMPLEX_KEYGEN


#: typed options every table config carries (RawTable.model_dump); the job refuses one without them
_TYPED_OPTIONS = (
    "csv_delimiter",
    "csv_null_value",
    "csv_header",
    "cleaner_commits_retained",
    "archive_min_commits",
    "archive_max_commits",
    "compaction_delta_commits",
    "hive_sync",
    "target_file_size_bytes",
    "small_file_limit_bytes",
    "record_size_estimate_bytes",
)


def table_options(table: Mapping[str, Any]) -> Mapping[str, Any]:
    """The table's typed options as the Airflow side validated and dumped them."""
    options = table.get("options")
    if not isinstance(options, Mapping) or any(k not in options for k in _TYPED_OPTIONS):
        missing = [k for k in _TYPED_OPTIONS if not isinstance(options, Mapping) or k not in options]
        raise ValueError(
            f"table {table.get('table_name')!r}: options lack {', '.join(missing)}; the job takes "
            "RawTable.model_dump(mode='json'), not hand-written options"
        )
    return options


def _flag(value: bool) -> str:
    return "true" if value else "false"


def hudi_options(
    table: Mapping[str, Any], operation: WriteOperationType | str, *, sync: bool = True, new_table: bool = False
) -> dict[str, str]:
    """Every ``hoodie.*`` option of a Spark datasource write of ``table`` with ``operation``.

    ``sync`` False leaves out Glue Data Catalog (hive) sync, whatever the table says;
    ``new_table``: the write creates the table (:func:`merge_options`).
    """
    op = WriteOperationType.parse(operation)
    if op not in OPERATIONS:
        names = ", ".join(o.option for o in OPERATIONS)
        raise ValueError(f"unknown Hudi write operation {str(operation)!r} (one of {names})")
    options = table_options(table)
    partitions = [str(p) for p in table.get("partition_fields") or ()]
    table_type = TableType(table.get("table_type") or TableType.COPY_ON_WRITE)
    version = int(table.get("table_version", 6))
    hive_style = bool(table.get("hive_style_partitioning", True))
    opts: dict[str, str] = {
        "hoodie.table.name": str(table["table_name"]),
        "hoodie.datasource.write.table.name": str(table["table_name"]),
        "hoodie.datasource.write.operation": op.option,
        "hoodie.datasource.write.table.type": table_type.value,
        "hoodie.datasource.write.recordkey.field": ",".join(hudi_record_key_fields(table)),
        "hoodie.datasource.write.partitionpath.field": ",".join(partitions),
        "hoodie.datasource.write.keygenerator.class": key_generator(table),
        "hoodie.datasource.write.hive_style_partitioning": _flag(hive_style),
        "hoodie.write.table.version": str(version),
        "hoodie.table.timeline.timezone": "UTC",  # as the embedded writer's tables
        "hoodie.cleaner.policy": "KEEP_LATEST_COMMITS",
        "hoodie.cleaner.commits.retained": str(options["cleaner_commits_retained"]),
        # Hudi refuses keep.min.commits <= cleaner.commits.retained: the bounds follow the retention
        "hoodie.keep.min.commits": str(options["archive_min_commits"]),
        "hoodie.keep.max.commits": str(options["archive_max_commits"]),
        **sizing_options(options),
        # the commit carries the checkpoint (options with this prefix go to extraMetadata)
        COMMIT_META_PREFIX_KEY: CHECKPOINT_PREFIX,
    }
    opts.update(merge_options(table, new_table=new_table))
    if table_type is not TableType.MERGE_ON_READ:
        # the embedded writer does not keep a metadata table in step: off, so either engine can continue
        opts["hoodie.metadata.enable"] = "false"
    if partitions:
        # a key whose partition field changed must leave exactly one row, in its new partition
        opts["hoodie.index.type"] = "GLOBAL_SIMPLE"
        opts["hoodie.simple.index.update.partition.path"] = "true"
    if table_type is TableType.MERGE_ON_READ:
        opts["hoodie.compact.inline"] = "true"
        opts["hoodie.compact.inline.max.delta.commits"] = str(options["compaction_delta_commits"])
    catalog_on = str(table.get("catalog", "glue")) != "none" and options["hive_sync"] is True
    if sync and catalog_on:
        opts.update(hive_sync_options(table, partitions))
    # pass-through keys (validated at config load: strings, none of the keys Tributary derives)
    opts.update({str(k): str(v) for k, v in options.items() if str(k).startswith("hoodie.")})
    return opts


def sizing_options(options: Mapping[str, Any]) -> dict[str, str]:
    """File sizing, the embedded writer's rule too (``hudi.planner``): file groups of target /
    record size rows, the estimate until the table holds rows, inserts into files under the limit."""
    return {
        "hoodie.parquet.max.file.size": str(int(options["target_file_size_bytes"])),
        "hoodie.parquet.small.file.limit": str(int(options["small_file_limit_bytes"])),
        "hoodie.copyonwrite.record.size.estimate": str(int(options["record_size_estimate_bytes"])),
    }


def hive_sync_options(table: Mapping[str, Any], partitions: list[str]) -> dict[str, str]:
    """Glue Data Catalog (hive) sync: the table definition the embedded engine's catalog sync
    writes (tributary.catalog): an external table with the meta columns, Spark datasource
    properties, timestamp-micros as timestamp, partitions by MultiPartKeysValueExtractor; one
    entry whichever engine wrote last."""
    return {
        "hoodie.datasource.hive_sync.enable": "true",
        "hoodie.datasource.hive_sync.mode": "hms",
        "hoodie.datasource.hive_sync.use_jdbc": "false",
        "hoodie.datasource.hive_sync.database": str(table["database_name"]),
        "hoodie.datasource.hive_sync.table": str(table["table_name"]),
        "hoodie.datasource.hive_sync.partition_fields": ",".join(partitions),
        "hoodie.datasource.hive_sync.partition_extractor_class": (
            MULTIPART_EXTRACTOR if partitions else NONPARTITIONED_EXTRACTOR
        ),
        "hoodie.datasource.hive_sync.support_timestamp": "true",
        "hoodie.datasource.hive_sync.sync_as_datasource": "true",
        "hoodie.datasource.hive_sync.create_managed_table": "false",
        "hoodie.datasource.hive_sync.omit_metadata_fields": "false",
    }


def merge_options(table: Mapping[str, Any], *, new_table: bool = False) -> dict[str, str]:
    """How a key's rows merge, the same for both engines and both table versions: the row with
    the latest precombine value wins, within a write and against the stored row.

    ``new_table``: the write creates the table. Hudi 1.0 records a table created with the
    event-time payload as merge mode CUSTOM (and then refuses EVENT_TIME_ORDERING), so a new v8
    table gets Hudi's own EVENT_TIME_ORDERING payload; a creating write has no deletes to honour.
    """
    precombine = table.get("precombine_field")
    opts: dict[str, str] = {}
    if precombine:
        # historical tables too: hoodie.properties names it whichever engine created the table
        opts["hoodie.datasource.write.precombine.field"] = str(precombine)
        opts["hoodie.payload.ordering.field"] = str(precombine)
        opts["hoodie.datasource.write.payload.class"] = EVENT_TIME_PAYLOAD
    if int(table.get("table_version", 6)) >= 8:
        # Hudi 1.0 refuses a write whose merge mode differs from the table's (EVENT_TIME_ORDERING)
        opts["hoodie.record.merge.mode"] = EVENT_TIME_ORDERING
        if new_table:
            opts.pop("hoodie.datasource.write.payload.class", None)
        elif not precombine:
            opts["hoodie.datasource.write.payload.class"] = EVENT_TIME_PAYLOAD
    elif not precombine:
        opts["hoodie.datasource.write.payload.class"] = LATEST_PAYLOAD
    return opts


def checked_commit_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    """The checkpoint entries as strings; every key must carry :data:`CHECKPOINT_PREFIX`.

    Only keys with the prefix reach the commit's extraMetadata, and a key without it could
    override a ``hoodie.*`` write option: both are refused.
    """
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key.startswith(CHECKPOINT_PREFIX) or key == CHECKPOINT_PREFIX:
            raise ValueError(f"commit metadata key {key!r} does not start with {CHECKPOINT_PREFIX!r}")
        if not isinstance(value, str):
            raise ValueError(f"commit metadata {key}: the value must be a string, not {type(value).__name__}")
        out[key] = value
    if CHECKPOINT_PREFIX + "version" not in out:
        raise ValueError(f"commit metadata has no checkpoint ({CHECKPOINT_PREFIX}version missing)")
    return out


def write_options(
    table: Mapping[str, Any],
    operation: WriteOperationType | str,
    commit_metadata: Mapping[str, Any],
    *,
    sync: bool = True,
    new_table: bool = False,
) -> dict[str, str]:
    """The options of the one datasource write of ``table`` in a run: :func:`hudi_options` plus
    the checkpoint the commit must carry (``commit_metadata``, computed by the Airflow side from
    the table's timeline) and the engine's name. Checkpoint keys win over table options."""
    opts = hudi_options(table, operation, sync=sync, new_table=new_table)
    # a table's own hoodie.* options must not move the prefix: the checkpoint would be lost
    opts[COMMIT_META_PREFIX_KEY] = CHECKPOINT_PREFIX
    opts.update(checked_commit_metadata(commit_metadata))
    opts[ENGINE_KEY] = "spark"
    return opts
