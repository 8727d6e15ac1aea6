"""`tributary catalog sync|status`: (re)register raw tables in the Glue Data Catalog, and show per
table the commit the catalog holds against the latest one."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(no_args_is_help=True)
console = Console()


def _table_ids(table: str | None) -> list[str]:
    from tributary.config.service import load_db_config
    from tributary.errors import NotFoundError

    config = load_db_config()
    if table is None:
        return sorted(config.tables)
    if table not in config.tables:
        reason = config.disabled("raw_tables").get(table)
        raise NotFoundError(
            f"raw table {table!r} is "
            + (f"invalid and disabled: {reason}" if reason else "not configured")
            + "; see `tributary tables list`"
        )
    return [table]


@app.command("sync")
def sync(
    table: str | None = typer.Option(None, "--table", help="Only this table (<schema>.<table>)."),
    force: bool = typer.Option(False, "--force", help="Compare every partition and column even when in step."),
) -> None:
    """Create or update the catalog entry of each table whose row asks for one (catalog: glue)."""
    from tributary.catalog.sync import SyncAction, sync_table
    from tributary.config.models import CatalogKind, Engine
    from tributary.config.service import load_db_config

    config = load_db_config()
    out = Table(title="catalog sync")
    for col in ("table", "catalog entry", "result", "commit", "partitions added"):
        out.add_column(col, overflow="fold")
    failed = 0
    for table_id in _table_ids(table):
        row = config.tables[table_id]
        name = f"{row.database_name}.{row.table_name}"
        cadence = config.cadences.get(row.refresh_cadence)
        if row.catalog is CatalogKind.NONE or (cadence is not None and cadence.engine is Engine.GLUE):
            why = "catalog: none" if row.catalog is CatalogKind.NONE else "engine glue: Hudi's hive sync registers it"
            out.add_row(table_id, name, f"skipped ({why})", "-", "-")
            continue
        result = sync_table(row, force=force)
        if result.action is SyncAction.FAILED:
            failed += 1
            out.add_row(table_id, name, f"[red]failed[/]: {escape(result.error or '')}", "-", "-")
        else:
            out.add_row(table_id, name, result.action.value, result.instant or "-", str(result.partitions_added))
    console.print(out)
    if failed:
        console.print(f"[red]{failed} table(s) not synced[/]; nothing was lost: run `tributary catalog sync` again")
        raise typer.Exit(1)


@app.command("status")
def status(table: str | None = typer.Option(None, "--table", help="Only this table.")) -> None:
    """Per table: the commit the catalog entry holds, the latest commit, partitions, last error."""
    from tributary.catalog.status import catalog_statuses
    from tributary.config.service import load_db_config

    config = load_db_config()
    statuses = catalog_statuses(config, _table_ids(table))
    out = Table(title=f"catalog ({sum(s.ok for s in statuses)}/{len(statuses)} in step or not due)")
    for col in ("table", "catalog entry", "state", "synced commit", "latest commit", "partitions", "error"):
        out.add_column(col, overflow="fold")
    for s in statuses:
        colour = "green" if s.state.value == "in step" else ("red" if not s.ok else "white")
        out.add_row(
            s.table_id,
            s.catalog_name,
            f"[{colour}]{s.state.value}[/]",
            s.synced_instant or "-",
            s.latest_instant or "-",
            str(s.partitions),
            escape(s.error or ""),
        )
    console.print(out)
