"""`tributary flows list` and `tributary tables list`: what is configured, and what is disabled why."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

flows_app = typer.Typer(no_args_is_help=True)
tables_app = typer.Typer(no_args_is_help=True)
console = Console()


@flows_app.command("list")
def list_flows() -> None:
    """Flows in the metadata DB with their DAG, triggers and tasks; broken rows with the reason."""
    from tributary.config.service import load_db_config

    config = load_db_config()
    table = Table(title=f"flows ({len(config.flows)} valid)")
    for col in ("flow", "dag_id", "status", "schedule / triggers", "tasks", "owner"):
        table.add_column(col, overflow="fold")
    for flow_id, flow in sorted(config.flows.items()):
        triggers = [flow.schedule] if flow.schedule else []
        triggers += [f"s3://{t.bucket}/{t.prefix}*{t.suffix}" for t in flow.event_triggers]
        if flow.sqs_queue_url:
            triggers.append(f"sqs {flow.sqs_queue_url}")
        if flow.manual:
            triggers.append("manual")
        table.add_row(
            flow_id,
            flow.effective_dag_id,
            "enabled" if flow.enabled else "[yellow]paused[/]",
            escape(", ".join(triggers)),
            ", ".join(t.task_id for t in flow.tasks),
            flow.owner,
        )
    for flow_id, reason in sorted(config.disabled("flows").items()):
        table.add_row(escape(flow_id), "-", "[red]disabled: invalid row[/]", escape(reason), "-", "-")
    console.print(table)


@tables_app.command("list")
def list_tables(
    cadence: str | None = typer.Option(None, help="Only tables of this refresh cadence."),
) -> None:
    """Raw tables in the metadata DB with keys, partitions and cadence; broken rows with the reason."""
    from tributary.config.service import load_db_config

    config = load_db_config()
    table = Table(title=f"raw tables ({len(config.tables)} valid)")
    for col in ("table", "status", "record key", "precombine", "partitions", "mode", "cadence", "target"):
        table.add_column(col, overflow="fold")
    for table_id, t in sorted(config.tables.items()):
        if cadence and t.refresh_cadence != cadence:
            continue
        table.add_row(
            table_id,
            "active" if t.active else "[yellow]inactive[/]",
            ",".join(t.record_key_fields),
            t.precombine_field or "-",
            ",".join(t.partition_fields) or "-",
            f"{t.storage_mode.value} v{t.table_version}",
            t.refresh_cadence,
            escape(t.target_uri),
        )
    for table_id, reason in sorted(config.disabled("raw_tables").items()):
        table.add_row(escape(table_id), "[red]disabled: invalid row[/]", escape(reason), "", "", "", "", "")
    console.print(table)


@tables_app.command("reload")
def reload_table(table_id: str = typer.Argument(..., help="The table id, e.g. sales.orders.")) -> None:
    """Rebuild a table from the files in its staging prefix at its next run: the full load
    replaces the table in one commit, with the CDC files after it (audited)."""
    from tributary.files.registry import request_reload
    from tributary.metadata.db import session_scope
    from tributary.settings import get_settings

    with session_scope() as s:
        request_reload(s, table_id, get_settings().actor)
    typer.echo(f"{table_id}: reload requested; the next run of its cadence rebuilds it")
