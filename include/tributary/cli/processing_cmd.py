"""`tributary files|process|runs|locks ...`: the file tracker, the processor and its history."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tributary.processing.outcome import OutcomeStatus

files_app = typer.Typer(no_args_is_help=True)
runs_app = typer.Typer(no_args_is_help=True)
locks_app = typer.Typer(no_args_is_help=True)
console = Console()
#: the status column's colour per outcome status
_STYLES = {
    OutcomeStatus.COMPLETED: "green",
    OutcomeStatus.FAILED: "red",
    OutcomeStatus.BLOCKED: "yellow",
    OutcomeStatus.BUSY: "yellow",
}


def _ts(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@files_app.command("register")
def register_files(paths: list[str] = typer.Argument(..., help="Files or folders, local or s3://")) -> None:
    """Register landed CDC files (idempotent); each goes to its table by staging prefix."""
    from tributary.config.service import load_db_config
    from tributary.files.registry import RegistrationStatus, discover, register
    from tributary.metadata.db import session_scope

    config = load_db_config()
    landed = discover(paths)
    with session_scope() as s:
        results = register(s, landed, config.tables.values())
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        if r.status == RegistrationStatus.UNMATCHED:
            console.print(f"[yellow]unmatched[/] {escape(r.uri)}: {escape(r.reason or '')}", soft_wrap=True)
    console.print(
        f"files: {counts.get('registered', 0)} registered, {counts.get('duplicate', 0)} already known, "
        f"{counts.get('unmatched', 0)} unmatched"
    )


@files_app.command("list")
def list_files(
    table: str | None = typer.Option(None, "--table", help="Only this table (schema.table)."),
    status: str | None = typer.Option(None, "--status", help="pending, processed, failed, quarantined, ..."),
    limit: int = typer.Option(200, help="At most this many rows."),
) -> None:
    """Tracked files with status, attempts, commit instant and reason."""
    from tributary.files.registry import list_tracked
    from tributary.metadata.db import require_migrated, session_scope

    require_migrated()
    with session_scope() as s:
        rows = list_tracked(s, table, status, limit)
        out = Table(title=f"files ({len(rows)} shown)")
        for col in ("id", "table", "file", "status", "attempts", "instant", "reason"):
            out.add_column(col, overflow="fold")
        for r in rows:
            out.add_row(
                str(r.file_id),
                r.table_id or "-",
                escape(r.relative_path or r.uri),
                r.status,
                str(r.attempts),
                r.commit_instant or "-",
                escape((r.reason or "")[:200]),
            )
    console.print(out)


def _operator(file_id: int, action: str) -> None:
    from tributary.files.registry import operator_action
    from tributary.metadata.db import session_scope
    from tributary.settings import get_settings

    with session_scope() as s:
        row = operator_action(s, file_id, action, get_settings().actor)
        console.print(f"file {file_id} ({escape(row.uri)}) is now {row.status} (audited)")


@files_app.command("retry")
def retry(file_id: int) -> None:
    """Put a failed, quarantined or skipped file back in its table's queue."""
    _operator(file_id, "retry")


@files_app.command("skip")
def skip(file_id: int) -> None:
    """Give up a file for good so its table's later files can go on."""
    _operator(file_id, "skip")


def process(
    table: str | None = typer.Option(None, "--table", help="Process this table (schema.table)."),
    cadence: str | None = typer.Option(None, "--cadence", help="Process every table of this refresh cadence."),
    batch: int | None = typer.Option(None, "--batch", help="With --cadence: only this batch (1-based)."),
    register: bool = typer.Option(True, help="First register files found under the tables' staging prefixes."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Apply pending CDC files to their Hudi tables; exits 1 when any table failed."""
    from tributary.config.service import load_db_config
    from tributary.errors import TributaryError
    from tributary.files.registry import register as register_files_
    from tributary.files.registry import sweep_table_files
    from tributary.metadata.db import session_scope
    from tributary.processing.batches import cadence_tables, process_batch, process_cadence
    from tributary.processing.context import RunContext

    if (table is None) == (cadence is None):
        raise TributaryError("give exactly one of --table or --cadence")
    config = load_db_config()
    if table is not None and table not in config.tables and table not in config.disabled("raw_tables"):
        from tributary.errors import NotFoundError

        raise NotFoundError(f"table {table!r} is not configured; see `tributary tables list`")
    if table is not None:
        table_ids = [table]
    elif cadence is not None:  # exactly one of the two is given (checked above)
        table_ids = cadence_tables(config, cadence)
    if register:
        landed = [f for t in table_ids if t in config.tables for f in sweep_table_files(config.tables[t])]
        with session_scope() as s:
            register_files_(s, landed, config.tables.values())
    if table is not None:
        result = process_batch([table], run_context=RunContext.cli(), config=config)
    elif cadence is not None:
        result = process_cadence(cadence, batch=batch, run_context=RunContext.cli())
    if as_json:
        console.print_json(json.dumps(result.to_dict(full=True)))
    else:
        out = Table(title=f"processed {len(result.tables)} table(s) in {result.seconds:.1f}s")
        for col in ("table", "status", "files", "inserted", "updated", "deleted", "instant", "error"):
            out.add_column(col, overflow="fold")
        for t, o in sorted(result.tables.items()):
            out.add_row(
                t,
                f"[{_STYLES.get(o.status, 'white')}]{o.status}[/]",
                str(len(o.files)),
                str(o.inserted),
                str(o.updated),
                str(o.deleted),
                o.instant or "-",
                escape((o.error or "")[:300]),
            )
        console.print(out)
    if result.failed:
        console.print(f"[red]{len(result.failed)} table(s) failed:[/] {', '.join(result.failed)}")
        raise typer.Exit(1)


@runs_app.command("list")
def list_runs(
    table: str | None = typer.Option(None, "--table"),
    limit: int = typer.Option(50),
) -> None:
    """Recent processing runs: status, counts, files, commit instant and error."""
    from sqlalchemy import select

    from tributary.metadata.db import require_migrated, session_scope
    from tributary.metadata.models import ProcessingRunRow

    require_migrated()
    with session_scope() as s:
        stmt = select(ProcessingRunRow).order_by(ProcessingRunRow.run_id.desc()).limit(limit)
        if table:
            stmt = stmt.where(ProcessingRunRow.table_id == table)
        rows = list(s.scalars(stmt))
        out = Table(title=f"processing runs ({len(rows)} shown)")
        for col in ("run", "table", "status", "started", "files", "ins", "upd", "del", "instant", "error"):
            out.add_column(col, overflow="fold")
        for r in rows:
            out.add_row(
                str(r.run_id),
                r.table_id,
                r.status,
                _ts(r.started_at),
                str(len(r.files or [])),
                str(r.inserted),
                str(r.updated),
                str(r.deleted),
                r.commit_instant or "-",
                escape((r.error or "")[:200]),
            )
    console.print(out)


@locks_app.command("list")
def list_locks() -> None:
    """Table leases: holder, fencing token, heartbeat and expiry."""
    from tributary.locks.lease import list_leases
    from tributary.metadata.db import require_migrated, session_scope

    require_migrated()
    now = datetime.now(UTC)
    with session_scope() as s:
        out = Table(title="table leases")
        for col in ("table", "holder", "token", "heartbeat", "expires", "state"):
            out.add_column(col, overflow="fold")
        for r in list_leases(s):
            expires = r.expires_at.replace(tzinfo=UTC) if r.expires_at and not r.expires_at.tzinfo else r.expires_at
            state = "free" if r.holder is None else ("expired" if expires and expires < now else "held")
            out.add_row(r.table_id, r.holder or "-", str(r.token), _ts(r.heartbeat_at), _ts(r.expires_at), state)
    console.print(out)


@locks_app.command("release")
def release_lock(
    table: str = typer.Argument(..., help="schema.table"),
    force: bool = typer.Option(False, "--force", help="Required: the holder may still be working."),
) -> None:
    """Free a table's lease whoever holds it (audited); its old holder stays fenced out."""
    from tributary.errors import LockError
    from tributary.locks.lease import force_release
    from tributary.metadata.db import require_migrated, session_scope
    from tributary.metadata.models import ConfigChangeRow
    from tributary.settings import get_settings

    if not force:
        raise LockError(
            f"releasing the lease on {table} can let two workers write it; pass --force if its holder is really gone"
        )
    require_migrated()
    with session_scope() as s:
        before = force_release(table, s)
        if before is None:
            console.print(f"{table}: no lease held")
            return
        s.add(
            ConfigChangeRow(
                batch_id=f"lock-{table}",
                actor=get_settings().actor,
                entity="table_locks",
                entity_id=table,
                action="release_lock",
                after={"holder": None},
                before={"holder": before.holder, "token": before.token},
            )
        )
    console.print(f"{table}: lease of {before.holder} (token {before.token}) released (audited)")
