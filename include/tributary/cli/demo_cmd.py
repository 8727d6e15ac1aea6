"""`tributary demo run`: generate the taxi dataset, process it on the embedded engine, report."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("run")
def run(
    rows: int = typer.Option(
        20_000, "--rows", min=100, help="Rows per table in the full load (1369769 for the ODP framework's full size)."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Delete the demo's staging files and tables first."),
    via_airflow: bool = typer.Option(
        False,
        "--via-airflow",
        help="Run the flow's DAG on the Airflow API (the local stack) after each wave of "
        "files instead of processing in this process.",
    ),
) -> None:
    """Land a DMS-style dataset for the 18 example tables, apply it, and validate every table."""
    from tributary.config.locations import resolve_location
    from tributary.config.service import load_db_config
    from tributary.demo.dataset import generate
    from tributary.demo.report import check_tables, summary
    from tributary.files.registry import register, sweep_table_files
    from tributary.metadata.db import session_scope
    from tributary.processing.batches import plan_batches, process_batch
    from tributary.settings import get_settings

    config = load_db_config()
    demo_tables = sorted(
        (t for t in config.tables if t.startswith("taxi_trips.table_")), key=lambda t: int(t.rsplit("_", 1)[1])
    )
    if len(demo_tables) != 18:
        raise typer.BadParameter("the demo needs the 18 example tables: run `tributary config apply config/` first")
    home = get_settings().home
    expected_path = home / "demo" / "expected.json"
    staging_root = resolve_location(config.tables["taxi_trips.table_1"].staging_prefix).rsplit("/", 1)[0]
    failed: list[str] = []
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )

    def process_all(phase: str) -> None:
        """Register what landed and run the cadence, batch by batch, table by table."""
        landed = [f for table_id in demo_tables for f in sweep_table_files(config.tables[table_id])]
        with session_scope() as s:
            register(s, landed, config.tables.values())
        if via_airflow:
            failed.extend(_run_flow_on_airflow(progress, phase))
            return
        task = progress.add_task(f"{phase}: applying", total=len(demo_tables))
        for batch in plan_batches("every_10_minutes", config):
            for table_id in batch:
                progress.update(task, description=f"{phase}: {table_id}")
                failed.extend(process_batch([table_id], config=config).failed)
                progress.advance(task)
        progress.update(task, description=f"{phase}: applied")

    with progress:
        if fresh or not expected_path.exists():
            for table_id in demo_tables:
                for loc in (config.tables[table_id].staging_prefix, config.tables[table_id].target_uri):
                    shutil.rmtree(resolve_location(loc), ignore_errors=True)
            from sqlalchemy import delete

            from tributary.metadata.models import CdcFileRow

            with session_scope() as s:
                s.execute(delete(CdcFileRow).where(CdcFileRow.table_id.in_(demo_tables)))
            progress.console.print(f"landing {rows:,} rows x 18 tables of DMS full load, then CDC files ...")
            generate(Path(staging_root), expected_path, rows, after_phase=process_all)
        else:
            process_all("pending files")

    checks = check_tables(config, expected_path)
    out = Table(title="demo validation: expected (from the generated source) vs hudi-rs")
    for col in ("table", "expected rows", "rows in Hudi", "fare sum ok", "commits", "files", "lag", "result"):
        out.add_column(col)
    for c in checks:
        out.add_row(
            c.table_id,
            f"{c.expected_rows:,}",
            f"{c.actual_rows:,}",
            "yes" if abs(c.expected_fare - c.actual_fare) < 0.01 else "[red]no[/]",
            str(c.commits),
            f"{c.files_processed}/{c.files_expected}",
            "-" if c.lag_seconds is None else f"{c.lag_seconds:.0f}s",
            "[green]ok[/]" if c.ok else f"[red]MISMATCH[/] {c.note}",
        )
    console.print(out)
    s = summary(checks)
    console.print(f"{s['ok']}/{s['tables']} tables match; {s['rows_actual']:,} of {s['rows_expected']:,} rows")
    if failed or s["ok"] != s["tables"]:
        raise typer.Exit(1)


DEMO_DAG = "tributary__taxi_trips_refresh"


def _run_flow_on_airflow(progress: Progress, phase: str) -> list[str]:
    """Trigger the taxi flow's DAG through the Airflow REST API and wait for the run to end."""
    import time
    import uuid

    from tributary.events.invoker import default_client

    client = default_client()
    run_id = f"demo__{phase.replace(' ', '_')}__{uuid.uuid4().hex[:8]}"
    client.trigger_dag_run(DEMO_DAG, run_id, {"source": "tributary demo", "phase": phase})
    task = progress.add_task(f"{phase}: DAG run {run_id}", total=None)
    deadline = time.monotonic() + 900
    state = "queued"
    while time.monotonic() < deadline:
        state = str(client.dag_run(DEMO_DAG, run_id).get("state"))
        progress.update(task, description=f"{phase}: DAG run {state}")
        if state in ("success", "failed"):
            break
        time.sleep(1.0)
    progress.update(task, total=1, completed=1)
    return [] if state == "success" else [f"{DEMO_DAG} run {run_id} ended {state}"]
