"""`tributary demo run`: land the taxi dataset in the staging bucket of the local stack, let the
flows apply it (S3 events and the schedule start them), and validate every table with hudi-rs."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from tributary.config.validation import ConfigSet
    from tributary.demo.report import TableCheck

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("run")
def run(
    rows: int = typer.Option(
        20_000, "--rows", min=100, help="Rows per table in the full load (--full-size: the ODP test's 1,369,769)."
    ),
    full_size: bool = typer.Option(False, "--full-size", help="1,369,769 rows per table, as the ODP framework's test."),
    fresh: bool = typer.Option(
        True, "--fresh/--keep", help="Start from nothing (default), or only report on what is there."
    ),
    timeout: float = typer.Option(900, "--timeout", help="Seconds to wait for each wave of files to be applied."),
) -> None:
    """Land a DMS-style dataset for the 18 example tables wave by wave, wait while the flows apply
    it, and compare every table with the rows expected from the generated source."""
    from tributary.config.service import load_db_config
    from tributary.demo import runner
    from tributary.demo.dataset import FULL_SIZE
    from tributary.demo.report import check_tables, summary
    from tributary.settings import get_settings

    config = load_db_config()
    tables = runner.demo_tables(config)
    flows = runner.demo_flows(config, tables)
    runner.provision_if_local(config)
    runner.check_staging_reachable(config, tables)
    expected_path = get_settings().home / "demo" / "expected.json"
    rows = FULL_SIZE if full_size else rows
    started = time.monotonic()
    started_at = datetime.now(UTC)

    if fresh or not expected_path.exists():
        _land_and_apply(config, tables, flows, expected_path, rows, timeout)
    else:
        console.print("reporting on the tables as they are (--keep)")

    runner.wait_catalog(config, tables, timeout=60)
    checks = check_tables(config, expected_path)
    _print_checks(checks, runner.progress(tables).latency_s)
    _print_runs(flows, started_at)
    s = summary(checks)
    console.print(
        f"{s['ok']}/{s['tables']} tables match; {s['rows_actual']:,} of {s['rows_expected']:,} rows "
        f"({time.monotonic() - started:.0f}s)"
    )
    console.print(
        f"{s['catalog_in_step']}/{s['tables']} tables registered in the Glue Data Catalog at their latest "
        "commit (`tributary catalog status`)"
    )
    if s["ok"] != s["tables"]:
        raise typer.Exit(1)


def _land_and_apply(
    config: ConfigSet, tables: list[str], flows: dict[str, str], expected_path: Path, rows: int, timeout: float
) -> None:
    """Reset the demo tables, land the generated dataset wave by wave and wait after each wave
    until the flows have applied it, with progress bars."""
    from tributary.demo import runner
    from tributary.demo.dataset import generate, planned_files

    for dag_id, how in flows.items():
        console.print(f"[bold]{dag_id}[/] starts on {how}")
    runner.reset(config, tables)
    bars = Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        console=console,
    )

    landing_bar = bars.add_task("landing DMS files in staging", total=planned_files(rows), unit="files landed")
    landing = runner.Landing(config, on_landed=lambda _t, _n: bars.advance(landing_bar))

    def wait(phase: str) -> None:
        total = sum(landing.landed.values())
        task = bars.add_task(f"{phase}: waiting for the flows", total=total, unit="files applied")
        runner.wait_applied(tables, total, timeout, lambda p: bars.update(task, completed=min(p.processed, total)))
        bars.update(task, description=f"{phase}: applied")

    console.print(f"landing {rows:,} rows x 18 tables of DMS full load, then CDC files, in the staging bucket ...")
    with bars:
        generate(landing, expected_path, rows, after_phase=wait)
    console.print(f"landed {sum(landing.landed.values())} files, {landing.bytes_landed / 1e6:,.1f} MB")


def _print_checks(checks: list[TableCheck], latency: dict[str, float]) -> None:
    """The validation table: each demo table's expected and actual rows, commits, files, lag,
    catalog state and result."""
    out = Table(title="demo validation: expected (from the generated source) vs what hudi-rs reads")
    for col in ("table", "expected rows", "rows in Hudi", "fare sum ok", "commits", "files", "land→applied", "lag"):
        out.add_column(col, justify="right" if col != "table" else "left")
    out.add_column("Glue catalog")
    out.add_column("result")
    for c in checks:
        out.add_row(
            c.table_id,
            f"{c.expected_rows:,}",
            f"{c.actual_rows:,}",
            "yes" if abs(c.expected_fare - c.actual_fare) < 0.01 else "[red]no[/]",
            str(c.commits),
            f"{c.files_processed}/{c.files_expected}",
            f"{latency[c.table_id]:.0f}s" if c.table_id in latency else "-",
            "-" if c.lag_seconds is None else f"{c.lag_seconds:.0f}s",
            c.catalog if c.catalog_ok else f"[red]{c.catalog}[/]",
            "[green]ok[/]" if c.ok else f"[red]MISMATCH[/] {c.note}",
        )
    console.print(out)


def _print_runs(flows: dict[str, str], since: datetime) -> None:
    """The DAG runs since the demo started, by how Airflow started them (none by the demo)."""
    from tributary.demo.runner import runs_by_trigger
    from tributary.errors import TributaryError
    from tributary.events.invoker import default_client

    try:
        counts = runs_by_trigger(default_client(), list(flows), since)
    except TributaryError as exc:
        console.print(f"[yellow]DAG runs not listed: {exc}[/]")
        return
    out = Table(title="DAG runs since the demo started (run type, state)")
    out.add_column("DAG")
    out.add_column("starts on")
    out.add_column("runs")
    for dag_id, how in flows.items():
        out.add_row(dag_id, how, ", ".join(f"{n} {k}" for k, n in sorted(counts[dag_id].items())) or "none yet")
    console.print(out)
