"""Register landed files in ``cdc_files``, list them, and let operators retry or skip them.

A file is identified by its content: (location, size, content digest). The first version of a
location registers with ``version_key`` "" (unique per location, so an event and a sweep racing
on a new file register one row whatever metadata each had: a failed HEAD gives no second
identity). Registering it again is a no-op when the content is the same (a duplicate event, a
sweep, a ``touch``: same size and mtime, or the same digest); metadata the first registration
lacked is filled in. Other content under the same location is a new version (``version_key``
its digest): an unapplied older version is skipped (its bytes are gone), and the engine decides
on the new one against what the table applied (a re-upload is refused and quarantined naming
both versions; ``LOAD00000001`` with new content starts a reload generation).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tributary.cdc.files import CdcFile, FileKind, classify, content_digest, list_files
from tributary.config.locations import canonical_uri, resolve_location
from tributary.config.models import RawTable
from tributary.errors import NotFoundError, StorageError
from tributary.metadata.models import CdcFileHistoryRow, CdcFileRow, ConfigChangeRow, FileStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandedFile:
    """A file as reported by an event, a listing or a user."""

    uri: str
    size: int | None = None
    mtime_ns: int | None = None
    landed_at: datetime | None = None


class RegistrationStatus(StrEnum):
    """What registering one landed file did."""

    REGISTERED = "registered"
    DUPLICATE = "duplicate"
    """Known already (same content), or an unmatched file seen before."""
    UNMATCHED = "unmatched"
    """Under no configured table's staging prefix."""


@dataclass(frozen=True)
class Registration:
    uri: str
    table_id: str | None
    status: RegistrationStatus
    reason: str | None = None


def table_roots(tables: Iterable[RawTable]) -> dict[str, str]:
    """Resolved staging root → table id."""
    return {resolve_location(t.staging_prefix): t.table_id for t in tables}


def match_table(uri: str, roots: Mapping[str, str]) -> tuple[str, str] | None:
    """(table id, path relative to its staging root) for a file, or None. The most specific root
    wins: the file's parent folders are looked up from the deepest up (no scan over all tables)."""
    head = uri
    while True:
        cut = head.rfind("/")
        if cut <= 0:
            return None
        head = head[:cut]
        table_id = roots.get(head)
        if table_id is not None:
            return table_id, uri[len(head) + 1 :]
        if head.endswith(":/") or head.endswith("s3:"):
            return None


def _insert(session: Session, values: dict[str, object]) -> bool:
    """Insert unless the same (uri, version_key) exists; True when a row was added."""
    dialect = session.get_bind().dialect.name
    ins = pg_insert(CdcFileRow) if dialect == "postgresql" else sqlite_insert(CdcFileRow)
    stmt = (
        ins.values(**values).on_conflict_do_nothing(index_elements=["uri", "version_key"]).returning(CdcFileRow.file_id)
    )
    file_id = session.execute(stmt).scalar()
    if file_id is None:
        return False
    session.add(CdcFileHistoryRow(file_id=file_id, status=str(values["status"]), detail=values.get("reason")))
    return True


def _latest_versions(session: Session, uris: Sequence[str]) -> dict[str, CdcFileRow]:
    """The newest tracked row of each location (one query per 500 locations)."""
    out: dict[str, CdcFileRow] = {}
    for i in range(0, len(uris), 500):
        rows = session.scalars(
            select(CdcFileRow)
            .where(CdcFileRow.uri.in_(uris[i : i + 500]), CdcFileRow.table_id.is_not(None))
            .order_by(CdcFileRow.file_id)
        )
        for row in rows:
            out[row.uri] = row
    return out


def _new_version(landed: LandedFile, row: CdcFileRow) -> str | None:
    """The digest of ``landed`` when it holds other content than ``row``; None when it is the
    same file (missing metadata on ``row`` is filled in)."""
    if landed.size is None:
        return None
    if row.size_bytes is None:
        row.size_bytes, row.mtime_ns = landed.size, landed.mtime_ns
        return None
    if row.size_bytes == landed.size and (landed.mtime_ns is None or row.mtime_ns in (None, landed.mtime_ns)):
        if row.mtime_ns is None:
            row.mtime_ns = landed.mtime_ns
        return None
    try:
        digest = content_digest(landed.uri)
    except StorageError as exc:
        log.warning(
            "%s: cannot read it to compare with the registered version (%s); not registered again", landed.uri, exc
        )
        return None
    if row.size_bytes == landed.size and (row.content_hash in (None, digest)):
        row.mtime_ns = landed.mtime_ns  # touched, or listed with a finer mtime: the same file, read once
        return None
    return digest


def _supersede(session: Session, row: CdcFileRow, landed: LandedFile, digest: str) -> dict[str, object]:
    """Columns of the new version's row; an unapplied older version is skipped (its bytes are gone)."""
    if row.status in (FileStatus.PENDING, FileStatus.FAILED):
        row.reason = f"replaced by a new upload ({landed.size} bytes, {digest[:19]}) before it was applied"
        set_status(session, row, FileStatus.SKIPPED, row.reason)
    log.warning("%s: new content (%s bytes) under a registered name", landed.uri, landed.size)
    return {"version_key": digest, "content_hash": digest}


def _unmatched_reason(match: object, name: str) -> str:
    if match is None:
        return "no raw table's staging_prefix contains this file; add the table to config or move the file"
    return f"{name!r} is not a DMS data file name (LOAD<hex>.csv|parquet or <yyyymmdd>-<n>.csv|parquet)"


def register(session: Session, files: Iterable[LandedFile], tables: Iterable[RawTable]) -> list[Registration]:
    """Register files; each goes to the table whose staging prefix holds it, or is recorded as
    unmatched with the reason (never dropped). The same content registers once."""
    roots = table_roots(tables)
    landed_files = [replace(f, uri=canonical_uri(f.uri)) for f in files]
    known = _latest_versions(session, sorted({f.uri for f in landed_files}))
    out: list[Registration] = []
    now = datetime.now(UTC)
    for landed in landed_files:
        uri = landed.uri
        match = match_table(uri, roots)
        name = uri.rsplit("/", 1)[-1]
        kind_fmt = classify(name)
        base: dict[str, object] = {
            "uri": uri,
            "size_bytes": landed.size,
            "mtime_ns": landed.mtime_ns,
            "landed_at": landed.landed_at or now,
            "registered_at": now,
            "attempts": 0,
            "version_key": "",
        }
        if match is None or kind_fmt is None:
            reason = _unmatched_reason(match, name)
            values = {**base, "version_key": f"{landed.size}:{landed.mtime_ns}", "table_id": None}
            added = _insert(session, {**values, "status": FileStatus.UNMATCHED, "reason": reason, "order_key": ""})
            out.append(
                Registration(uri, None, RegistrationStatus.UNMATCHED if added else RegistrationStatus.DUPLICATE, reason)
            )
            if added:
                log.warning("unmatched file %s: %s", uri, reason)
            continue
        previous = known.get(uri)
        if previous is not None:
            digest = _new_version(landed, previous)
            if digest is None:
                out.append(Registration(uri, previous.table_id, RegistrationStatus.DUPLICATE))
                continue
            base.update(_supersede(session, previous, landed, digest))
        table_id, rel = match
        kind, fmt = kind_fmt
        cdc_file = CdcFile(rel, uri, landed.size or 0, landed.mtime_ns or 0, kind, fmt)
        added = _insert(
            session,
            {
                **base,
                "table_id": table_id,
                "status": FileStatus.PENDING,
                "relative_path": rel,
                "file_kind": kind.value,
                "file_format": fmt,
                "order_key": cdc_file.order_key,
            },
        )
        out.append(
            Registration(uri, table_id, RegistrationStatus.REGISTERED if added else RegistrationStatus.DUPLICATE)
        )
    return out


def discover(paths_or_uris: Sequence[str]) -> list[LandedFile]:
    """Files at the given paths or URIs (folders are walked) with size and mtime."""
    from pyarrow import fs as pafs

    from tributary.cdc.files import resolve

    landed: list[LandedFile] = []
    for item in paths_or_uris:
        filesystem, path = resolve(item)
        try:
            info = filesystem.get_file_info(path)
        except OSError as exc:
            raise StorageError(f"{item}: cannot read: {exc}") from exc
        if info.type == pafs.FileType.NotFound:
            raise StorageError(f"{item}: no such file or folder")
        prefix = "s3://" if isinstance(filesystem, pafs.S3FileSystem) else ""
        infos = (
            [info]
            if info.type == pafs.FileType.File
            else [
                i
                for i in filesystem.get_file_info(pafs.FileSelector(path, recursive=True))
                if i.type == pafs.FileType.File
            ]
        )
        for i in infos:
            if any(part.startswith(".") for part in i.path.split("/")):
                continue
            mtime = int(i.mtime_ns) if i.mtime_ns is not None else None
            landed.append(
                LandedFile(
                    prefix + i.path,
                    int(i.size or 0),
                    mtime,
                    datetime.fromtimestamp(mtime / 1e9, UTC) if mtime else None,
                )
            )
    return landed


def sweep_table_files(table: RawTable) -> list[LandedFile]:
    """Every DMS file under a table's staging prefix (for reconciliation of lost events)."""
    root = resolve_location(table.staging_prefix)
    try:
        files = list_files(root)
    except StorageError:
        return []
    return [LandedFile(f.uri if f.uri.startswith("s3://") else canonical_uri(f.uri), f.size, f.mtime_ns) for f in files]


def as_cdc_file(row: CdcFileRow) -> CdcFile:
    """The engine's view of a tracked file."""
    assert row.relative_path and row.file_kind and row.file_format
    return CdcFile(
        row.relative_path,
        row.uri,
        row.size_bytes or 0,
        row.mtime_ns or 0,
        FileKind(row.file_kind),
        row.file_format,
        row.content_hash or "",
    )


def set_status(session: Session, row: CdcFileRow, status: str, detail: str | None = None) -> None:
    row.status = status
    session.add(CdcFileHistoryRow(file_id=row.file_id, status=status, detail=detail))


def list_tracked(
    session: Session, table_id: str | None = None, status: str | None = None, limit: int = 200
) -> list[CdcFileRow]:
    stmt = select(CdcFileRow).order_by(CdcFileRow.table_id, CdcFileRow.order_key, CdcFileRow.file_id)
    if table_id:
        stmt = stmt.where(CdcFileRow.table_id == table_id)
    if status:
        stmt = stmt.where(CdcFileRow.status == status)
    return list(session.scalars(stmt.limit(limit)))


def status_counts(session: Session) -> dict[tuple[str | None, str], int]:
    rows = session.execute(
        select(CdcFileRow.table_id, CdcFileRow.status, func.count()).group_by(CdcFileRow.table_id, CdcFileRow.status)
    )
    return {(t, s): int(n) for t, s, n in rows}


def operator_action(session: Session, file_id: int, action: str, actor: str) -> CdcFileRow:
    """``retry`` puts a failed or quarantined file back in the queue; ``skip`` gives it up for good
    (the table's later files go on without it). Both are audited in ``config_changes``."""
    row = session.get(CdcFileRow, file_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"file {file_id}: not tracked; see `tributary files list`")
    allowed = {
        "retry": (FileStatus.FAILED, FileStatus.QUARANTINED, FileStatus.SKIPPED),
        "skip": (FileStatus.PENDING, FileStatus.FAILED, FileStatus.QUARANTINED),
    }
    if row.status not in allowed[action]:
        raise NotFoundError(
            f"file {file_id} ({row.uri}) is {row.status}; {action} applies to files that are "
            f"{' or '.join(allowed[action])}"
        )
    before = {"status": row.status, "attempts": row.attempts, "reason": row.reason}
    if action == "retry":
        row.attempts = 0
        row.reason = None
        set_status(session, row, FileStatus.PENDING, f"retried by {actor}")
    else:
        set_status(session, row, FileStatus.SKIPPED, f"skipped by {actor}")
    session.add(
        ConfigChangeRow(
            batch_id=f"file-{file_id}",
            actor=actor,
            entity="cdc_files",
            entity_id=str(file_id),
            action=f"{action}_file",
            before=before,
            after={"status": row.status, "attempts": row.attempts},
        )
    )
    return row


def request_reload(session: Session, table_id: str, actor: str) -> None:
    """Ask the next run of ``table_id`` to rebuild it from its staged files: the full load in one
    commit (replacing the table), with the CDC files after it. Audited in ``config_changes``."""
    from tributary.metadata.models import RawTableRow, TableReloadRow

    if session.get(RawTableRow, table_id) is None:
        raise NotFoundError(f"table {table_id!r} is not configured; see `tributary tables list`")
    if session.get(TableReloadRow, table_id) is None:
        session.add(TableReloadRow(table_id=table_id, requested_by=actor))
    session.add(
        ConfigChangeRow(
            batch_id=f"reload-{table_id}"[:64],
            actor=actor,
            entity="raw_tables",
            entity_id=table_id,
            action="reload_table",
            before=None,
            after={"reload": "requested"},
        )
    )
