"""`tributary cdc` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from tributary.cdc.options import (
    DEFAULT_RECORD_SIZE_ESTIMATE_BYTES,
    DEFAULT_TARGET_FILE_SIZE_BYTES,
    StorageMode,
    parse_type_list,
)
from tributary.errors import CdcError

if TYPE_CHECKING:
    from tributary.cdc.apply import ApplyResult

app = typer.Typer(no_args_is_help=True)


def _fields(value: str | None) -> tuple[str, ...]:
    return tuple(f.strip() for f in (value or "").split(",") if f.strip())


def _types(value: str | None) -> tuple[tuple[str, str], ...]:
    return parse_type_list(value, "--csv-types")


def _check_columns(options: dict[str, tuple[str, ...]]) -> None:
    """The same rule as config rows: no key, ordering or partition column named Op or _hoodie_*."""
    from tributary.config.columns import reserved_column

    for option, columns in options.items():
        for column in columns:
            reason = reserved_column(column)
            if reason:
                raise CdcError(f"{option}: {column!r} {reason}")


def _key_fields(record_key: str, precombine: str | None, partition_fields: str | None) -> dict[str, Any]:
    """CdcOptions' key, ordering and partition fields, checked against the reserved names."""
    keys, ordering, partitions = _fields(record_key), _fields(precombine), _fields(partition_fields)
    _check_columns({"--record-key": keys, "--precombine": ordering, "--partition-fields": partitions})
    return {"record_key_fields": keys, "precombine_field": precombine or None, "partition_fields": partitions}


def _csv_fields(columns: str | None, header: bool | None, null: str | None, types: str | None) -> dict[str, Any]:
    """CdcOptions' CSV settings."""
    return {
        "csv_columns": _fields(columns) or None,
        "csv_header": header,
        "csv_null_value": null,
        "csv_types": _types(types),
    }


_TARGET = "hoodie.parquet.max.file.size: bytes of rows per new file group."
_SMALL = "hoodie.parquet.small.file.limit: files under it take inserts (0: off; default 100 MiB or 5/6 of the target)."
_RECORD = "hoodie.copyonwrite.record.size.estimate: bytes per row until the table holds rows."


def _size_fields(target: int, small: int | None, record: int) -> dict[str, Any]:
    """CdcOptions' file sizing (``options.target_file_size_bytes`` and its neighbours)."""
    return {"target_file_size_bytes": target, "small_file_limit_bytes": small, "record_size_estimate_bytes": record}


def _report(result: ApplyResult) -> None:
    """The summary line; ignored and refused files on stderr (refused ones: exit 1)."""
    typer.echo(result.summary())
    for path in result.ignored:
        typer.echo(
            f"ignored {path}: not a DMS data file name (LOAD<hex> or <yyyymmdd>-<digits>, .csv|.parquet)", err=True
        )
    for refusal in result.refused:
        typer.echo(f"refused {refusal.message}", err=True)
    if result.refused:
        raise typer.Exit(1)


@app.command("apply")
def apply_command(
    source: str = typer.Option(..., "--source", help="Folder or URI (file://, s3://) of one table's DMS files."),
    target: str = typer.Option(..., "--target", help="Folder or URI of the Hudi table (created if absent)."),
    record_key: str = typer.Option(..., "--record-key", help="Record key field(s), comma-separated."),
    precombine: str | None = typer.Option(None, "--precombine", help="Ordering field (greatest value wins)."),
    partition_fields: str | None = typer.Option(None, "--partition-fields", help="Partition field(s)."),
    mode: StorageMode = typer.Option(StorageMode.CURRENT, "--mode", help="current snapshot or historical."),
    table_version: int = typer.Option(6, "--table-version", help="Hudi table version: 6 or 8."),
    table_name: str | None = typer.Option(None, "--table-name", help="Hudi table name (default: target folder)."),
    database_name: str = typer.Option("default", "--database-name", help="hoodie.database.name."),
    hive_style: bool = typer.Option(True, "--hive-style/--no-hive-style", help="Partition folders as field=value."),
    columns: str | None = typer.Option(
        None, "--columns", help="Column names of headerless CSV files in file order, without Op."
    ),
    csv_header: bool | None = typer.Option(
        None, "--csv-header/--no-csv-header", help="CSV files have a header row (default: detect)."
    ),
    csv_null: str | None = typer.Option(None, "--csv-null", help="Text that means null in CSV (default: empty)."),
    csv_types: str | None = typer.Option(
        None, "--csv-types", help="Types of CSV columns new to the table: id=int64,amount=decimal(10,2)."
    ),
    max_files: int | None = typer.Option(None, "--max-files", min=1, help="Apply at most this many files."),
    reload: bool = typer.Option(
        False, "--reload", help="Replace the table with every file under --source (a rebuild), in one commit."
    ),
    delete_markers_hours: float = typer.Option(
        168.0, "--delete-markers-hours", help="How long deletes are remembered against late, older changes."
    ),
    target_file_size: int = typer.Option(
        DEFAULT_TARGET_FILE_SIZE_BYTES, "--target-file-size-bytes", min=1, help=_TARGET
    ),
    small_file_limit: int | None = typer.Option(None, "--small-file-limit-bytes", min=0, help=_SMALL),
    record_size: int = typer.Option(
        DEFAULT_RECORD_SIZE_ESTIMATE_BYTES, "--record-size-estimate-bytes", min=1, help=_RECORD
    ),
) -> None:
    """Apply, in DMS order, every CDC file under --source that the target has not applied yet,
    in one Hudi commit, and print one summary line. Running it again with no new files writes
    nothing."""
    from tributary.cdc.apply import apply_pending, default_table_name
    from tributary.cdc.options import CdcOptions

    options = CdcOptions(
        table_name=table_name or default_table_name(target),
        mode=mode,
        table_version=table_version,
        hive_style_partitioning=hive_style,
        database_name=database_name,
        delete_markers_hours=delete_markers_hours,
        **_size_fields(target_file_size, small_file_limit, record_size),
        **_key_fields(record_key, precombine, partition_fields),
        **_csv_fields(columns, csv_header, csv_null, csv_types),
    )
    _report(apply_pending(source, target, options, max_files=max_files, rebuild=reload))
