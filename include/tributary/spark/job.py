"""The ``cdc_to_hudi`` template as a PySpark job (AWS Glue 5, EMR, any Spark with the Hudi bundle).

Job arguments (Glue passes ``--name value`` pairs; so does ``spark-submit job.py``):

- ``--tributary-batch``: JSON (parsed with :func:`json.loads`, never evaluated) with
  ``{"version": 1, "tables": [{"table_id", "table" (RawTable.model_dump), "files" [{uri, path,
  kind, format, order_key, size, mtime_ns}], "reload", "lease": {"holder", "token", "expires_at"},
  "commit_metadata" {"tributary.cdc.*": str}, "base_instant"}], "lease_ttl_seconds",
  "db_secret_id" (optional)}``;
- ``--result-uri``: where the job writes one JSON result per table (``<uri>/<table_id>.json``)
  for the Airflow task to read back and record (files processed, processing_runs, alerts);
- ``--tributary-sync``: ``false`` turns Glue Data Catalog (hive) sync off for every table;
- ``--tributary-plan-only``: ``true`` plans and counts without writing (a dry run).

Exactly once: each table is written by ONE datasource write (deletes ride in the upsert as
``_hoodie_is_deleted`` rows), and that commit carries ``commit_metadata``, the checkpoint the
Airflow side computed from the table's timeline (the same checkpoint the local engine writes).
Before the write the driver checks that the table's newest commit is still ``base_instant``
(the commit that checkpoint was read from) and that the lease still holds; a table that fails
either check is not written. After a crash anywhere, the Airflow side reconciles the files from
the checkpoint on the table's timeline, so nothing is applied twice.

Leases: the Airflow task took each table's lease before starting the run. When the batch names
``db_secret_id`` (a Secrets Manager secret holding the metadata DB URL) and SQLAlchemy is
importable, the driver heartbeats the leases from a thread, and re-checks a table's lease
synchronously right before its write; a lost lease fails its table before the write. When the DB
cannot be reached, a table is written only while its lease has not expired (``expires_at``).

Importable without Airflow, pyarrow or pyspark (pyspark is imported when a session is needed).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tributary.errors import BatchError, LeaseLostError, TableChangedError
from tributary.modes import WriteOperationType
from tributary.spark.options import checked_commit_metadata
from tributary.spark.writing import latest_instant, save_hudi, table_exists, write_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from tributary.spark.semantics import FileSpec

log = logging.getLogger(__name__)

BATCH_ARG = "--tributary-batch"
RESULT_ARG = "--result-uri"
SYNC_ARG = "--tributary-sync"
PLAN_ONLY_ARG = "--tributary-plan-only"
BATCH_VERSION = 1


class ResultStatus(StrEnum):
    """A table's status in the job's result."""

    COMPLETED = "completed"
    FAILED = "failed"
    PLANNED = "planned"
    """A dry run (``--tributary-plan-only``): planned and counted, nothing written."""


# -- arguments --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    """``--name value`` pairs (Glue adds its own, e.g. ``--JOB_NAME``); values stay strings."""
    args: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token.startswith("--"):
            if "=" in token:
                name, value = token.split("=", 1)
                args[name] = value
            elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                args[token] = argv[i + 1]
                i += 1
            else:
                args[token] = "true"
        i += 1
    return args


def load_batch(text: str) -> dict[str, Any]:
    """The batch argument as data: JSON only, checked for shape; nothing in it is executed."""
    try:
        batch = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise BatchError(f"{BATCH_ARG} is not valid JSON: {exc}") from exc
    if not isinstance(batch, dict) or batch.get("version") != BATCH_VERSION:
        raise BatchError(f"{BATCH_ARG} must be a JSON object with version {BATCH_VERSION}")
    tables = batch.get("tables")
    if not isinstance(tables, list):
        raise BatchError(f"{BATCH_ARG}: 'tables' must be a list")
    for entry in tables:
        if not isinstance(entry, dict) or not isinstance(entry.get("table_id"), str):
            raise BatchError(f"{BATCH_ARG}: every table needs a table_id")
        if not isinstance(entry.get("table"), dict) or not isinstance(entry.get("files"), list):
            raise BatchError(f"{BATCH_ARG}: table {entry['table_id']}: 'table' must be an object, 'files' a list")
        for file in entry["files"]:
            if not isinstance(file, dict) or not all(isinstance(file.get(k), str) for k in ("uri", "path", "kind")):
                raise BatchError(f"{BATCH_ARG}: table {entry['table_id']}: every file needs uri, path and kind")
        if not isinstance(entry.get("commit_metadata"), dict):
            raise BatchError(
                f"{BATCH_ARG}: table {entry['table_id']}: 'commit_metadata' (the checkpoint its commit carries) "
                "must be an object"
            )
        try:
            checked_commit_metadata(entry["commit_metadata"])
        except ValueError as exc:
            raise BatchError(f"{BATCH_ARG}: table {entry['table_id']}: {exc}") from exc
        if entry.get("base_instant") is not None and not isinstance(entry["base_instant"], str):
            raise BatchError(f"{BATCH_ARG}: table {entry['table_id']}: 'base_instant' must be a string or null")
    return batch


def result_key(table_id: str) -> str:
    return quote(table_id, safe="") + ".json"


# -- results ----------------------------------------------------------------------------------


def write_result(result_uri: str, table_id: str, payload: Mapping[str, Any]) -> str:
    """Write one table's result; ``s3://`` through boto3, else a local path or ``file://``."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    target = f"{result_uri.rstrip('/')}/{result_key(table_id)}"
    if target.startswith("s3://"):
        import boto3

        bucket, _, key = target[5:].partition("/")
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    else:
        from pathlib import Path

        path = Path(target[7:] if target.startswith("file://") else target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return target


# -- leases -----------------------------------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class Heartbeat:
    """Extends the batch's leases from the driver while the job runs (when it can reach the DB).

    :meth:`check` is the fence before a table's write: it renews that table's lease now and
    raises :class:`LeaseLostError` when the token no longer holds, or when the DB cannot be reached
    and the lease's expiry has passed (another worker may own the table by then).
    """

    def __init__(self, db_url: str | None, leases: Mapping[str, Mapping[str, Any]], ttl_seconds: int) -> None:
        self.db_url = db_url
        self.leases = dict(leases)
        self.ttl = timedelta(seconds=max(ttl_seconds, 1))
        self.lost: set[str] = set()
        self.expires: dict[str, datetime | None] = {
            t: _parse_time(lease.get("expires_at")) for t, lease in leases.items()
        }
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tributary-heartbeat", daemon=True)
        self._engine: Any = None

    def __enter__(self) -> Heartbeat:
        if self.db_url and self.leases:
            try:
                import sqlalchemy

                self._engine = sqlalchemy.create_engine(self.db_url, pool_pre_ping=True)
            except Exception as exc:  # no driver on the cluster: the lease TTL covers the run
                log.warning("lease heartbeats disabled (%s); the leases live for their TTL", exc)
                self._engine = None
        if self._engine is not None:
            try:
                self.beat()
            except Exception as exc:  # the DB is unreachable now; the thread keeps trying
                log.warning("lease heartbeat failed: %s", exc)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._engine is not None:
            self._engine.dispose()

    def beat(self, only: str | None = None) -> None:
        """Extend every lease (or ``only`` one) that is still held; a lease not held is lost.
        The same fenced renewal as the Airflow side's (:func:`tributary.locks.lease.check_and_extend`)."""
        from sqlalchemy.orm import Session

        from tributary.errors import LeaseLostError
        from tributary.locks.lease import Lease, check_and_extend

        with self._lock, Session(self._engine) as session, session.begin():
            for table_id, entry in self.leases.items():
                if table_id in self.lost or (only is not None and table_id != only):
                    continue
                lease = Lease(table_id, str(entry["holder"]), int(entry["token"]), datetime.now(UTC))
                try:
                    self.expires[table_id] = check_and_extend(lease, self.ttl, session).expires_at
                except LeaseLostError:
                    log.error("table %s: lease token %s was lost", table_id, entry["token"])
                    self.lost.add(table_id)

    def _expired(self, table_id: str) -> bool:
        expires = self.expires.get(table_id)
        return expires is not None and datetime.now(UTC) >= expires

    def check(self, table_id: str) -> None:
        """The fence before ``table_id``'s write; raises :class:`LeaseLostError` when it must not write."""
        if table_id in self.leases and table_id not in self.lost and self._engine is not None:
            try:
                self.beat(only=table_id)
            except Exception as exc:
                log.warning("table %s: lease check failed (%s); relying on its expiry", table_id, exc)
        if table_id in self.lost:
            raise LeaseLostError(f"table {table_id}: the lease was lost (its token no longer holds); not written")
        if self._expired(table_id):
            self.lost.add(table_id)
            raise LeaseLostError(
                f"table {table_id}: the lease expired at {self.expires[table_id]} and could not be extended "
                "(metadata DB unreachable or not configured); not written"
            )

    def _run(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 1.0)
        while not self._stop.wait(interval):
            try:
                self.beat()
            except Exception as exc:
                log.warning("lease heartbeat failed: %s", exc)


def _db_url_from_secret(secret_id: str | None) -> str | None:
    if not secret_id:
        return None
    try:
        import boto3

        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as exc:
        log.warning("metadata DB secret %s not readable (%s): no lease heartbeats", secret_id, exc)
        return None
    try:
        url = db_url_from_secret_value(value)
    except Exception as exc:  # e.g. no SQLAlchemy on the cluster: heartbeats cannot run anyway
        log.warning("metadata DB secret %s not usable (%s): no lease heartbeats", secret_id, type(exc).__name__)
        return None
    if url is None:
        log.warning("metadata DB secret %s holds no DB URL: no lease heartbeats", secret_id)
    return url


_RDS_DIALECTS = {"postgres": "postgresql", "postgresql": "postgresql", "aurora-postgresql": "postgresql"}


def db_url_from_secret_value(value: str) -> str | None:
    """The metadata DB URL in a secret: the URL itself, JSON ``{"url"}`` / ``{"db_url"}``, or the
    shape RDS-managed secrets have (``engine``, ``host``, ``port``, ``username``, ``password``,
    ``dbname``). None when it holds none of these."""
    value = value.strip()
    try:
        data = json.loads(value)
    except ValueError:
        return value if "://" in value else None
    if not isinstance(data, dict):
        return None
    url = data.get("url") or data.get("db_url")
    if isinstance(url, str) and url:
        return url
    if not (data.get("host") and data.get("username")):
        return None
    from sqlalchemy.engine import URL

    dialect = _RDS_DIALECTS.get(str(data.get("engine") or "postgres").lower(), str(data.get("engine")))
    return URL.create(
        dialect,
        username=str(data["username"]),
        password=None if data.get("password") is None else str(data["password"]),
        host=str(data["host"]),
        port=int(data["port"]) if data.get("port") else None,
        database=str(data.get("dbname") or data.get("database") or "") or None,
    ).render_as_string(hide_password=False)


# -- Spark ------------------------------------------------------------------------------------


def hudi_session(*, extra_jars: Sequence[str] = (), master: str | None = None, app: str = "tributary") -> SparkSession:
    """A SparkSession with Hudi's serializer and extensions (Glue provides its own context)."""
    from pyspark.sql import SparkSession

    from tributary.spark.options import SPARK_CONF

    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    if extra_jars:
        builder = builder.config("spark.jars", ",".join(extra_jars))
    return builder.getOrCreate()


def run_table(
    spark: SparkSession,
    entry: Mapping[str, Any],
    *,
    sync: bool = True,
    plan_only: bool = False,
    fence: Callable[[], None] | None = None,
    save: Callable[[DataFrame, Mapping[str, str], str], None] = save_hudi,
) -> dict[str, Any]:
    """Plan and write one table in one commit; the result dict the Airflow task records (never raises).

    ``fence`` runs right before the write (the lease check); ``save`` does the write.
    """
    from tributary.errors import CdcFileError
    from tributary.spark.semantics import FileSpec

    table_id = str(entry["table_id"])
    files = sorted((FileSpec.from_dict(f) for f in entry["files"]), key=lambda f: f.order_key)
    paths = [f.path for f in files]
    started = time.perf_counter()
    try:
        return _write_table(spark, entry, files, sync=sync, plan_only=plan_only, fence=fence, save=save)
    except Exception as exc:
        log.exception("%s: the Spark job failed", table_id)
        return {
            "table_id": table_id,
            "status": ResultStatus.FAILED.value,
            "files": paths,
            "error": str(exc) if isinstance(exc, CdcFileError) else f"{type(exc).__name__}: {exc}",
            "error_file": exc.path if isinstance(exc, CdcFileError) else None,
            "traceback": "".join(traceback.format_exception(exc))[-8000:],
        }
    finally:
        log.info("%s: %d file(s) in %.1f s", table_id, len(files), time.perf_counter() - started)


def _write_table(
    spark: SparkSession,
    entry: Mapping[str, Any],
    files: Sequence[FileSpec],
    *,
    sync: bool,
    plan_only: bool,
    fence: Callable[[], None] | None,
    save: Callable[[DataFrame, Mapping[str, str], str], None],
) -> dict[str, Any]:
    from tributary.spark.options import hudi_record_key_fields, write_options
    from tributary.spark.semantics import plan_table

    table_id, table = str(entry["table_id"]), entry["table"]
    target = str(table["target_uri"])
    exists = not plan_only and table_exists(spark, target)
    existing = spark.read.format("hudi").load(target) if exists else None
    reload = bool(entry.get("reload"))
    plan = plan_table(spark, files, table, reload=reload, table_schema=existing.schema if existing else None)
    options = write_options(table, plan.operation, entry.get("commit_metadata") or {}, sync=sync, new_table=not exists)
    write = write_rows(plan.rows, existing, hudi_record_key_fields(table), plan.operation is WriteOperationType.UPSERT)
    result: dict[str, Any] = {
        "table_id": table_id,
        "status": (ResultStatus.PLANNED if plan_only else ResultStatus.COMPLETED).value,
        "inserted": write.inserted,
        "updated": write.updated,
        "deleted": write.deleted,
        "files": [f.path for f in files],
        "operation": plan.operation.option,
        "instant": None,
    }
    if plan_only:
        return result
    base = entry.get("base_instant")
    current = latest_instant(spark, target) if exists else None
    if current != base:
        raise TableChangedError(
            f"table {table_id}: its newest commit is {current or 'none'}, not {base or 'none'} as when the "
            "batch was planned (another writer committed); not written, the files stay pending"
        )
    if fence is not None:
        fence()  # the lease still holds, right before the commit
    if write.inserted or write.updated or write.deleted or plan.operation is WriteOperationType.INSERT_OVERWRITE_TABLE:
        save(write.rows, options, target)  # one commit: upserts, deletes and the checkpoint together
        result["instant"] = latest_instant(spark, target)
    write.rows.unpersist()
    return result


def run_batch(
    spark: SparkSession,
    batch: Mapping[str, Any],
    result_uri: str | None,
    *,
    sync: bool = True,
    plan_only: bool = False,
    save: Callable[[DataFrame, Mapping[str, str], str], None] = save_hudi,
) -> dict[str, dict[str, Any]]:
    """Every table of the batch, one after another; a failed table never stops the others."""
    leases = {e["table_id"]: e["lease"] for e in batch["tables"] if isinstance(e.get("lease"), dict)}
    db_url = _db_url_from_secret(batch.get("db_secret_id"))
    results: dict[str, dict[str, Any]] = {}
    with Heartbeat(db_url, leases, int(batch.get("lease_ttl_seconds") or 60)) as heartbeat:
        for entry in batch["tables"]:
            table_id = entry["table_id"]
            if table_id in heartbeat.lost:
                result = {
                    "table_id": table_id,
                    "status": ResultStatus.FAILED.value,
                    "error": "the table's lease was lost",
                }
            else:
                fence = (lambda t=table_id: heartbeat.check(t)) if table_id in leases else None
                result = run_table(spark, entry, sync=sync, plan_only=plan_only, fence=fence, save=save)
            results[table_id] = result
            if result_uri:
                write_result(result_uri, table_id, result)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if BATCH_ARG not in args:
        raise BatchError(f"missing job argument {BATCH_ARG}")
    batch = load_batch(args[BATCH_ARG])
    sync = args.get(SYNC_ARG, "true").lower() != "false"
    plan_only = args.get(PLAN_ONLY_ARG, "false").lower() == "true"
    spark = hudi_session()
    results = run_batch(spark, batch, args.get(RESULT_ARG), sync=sync, plan_only=plan_only)
    failed = sorted(t for t, r in results.items() if r["status"] == ResultStatus.FAILED)
    log.info("batch done: %d table(s), failed: %s", len(results), ", ".join(failed) or "none")
    return 1 if failed else 0


if __name__ == "__main__":  # Glue runs the script as __main__ (the package comes as --extra-py-files)
    sys.exit(main())
