"""`tributary bench` commands."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("engine")
def engine(
    rows: int = typer.Option(1_000_000, help="Rows in the big table (10 columns)."),
    tables: int = typer.Option(100, help="Small tables for the many-tables phase."),
    changes: int = typer.Option(1_000, help="Changes applied to each small table."),
    seed_rows: int = typer.Option(2_000, help="Rows each small table holds before its changes."),
    workdir: Path | None = typer.Option(None, help="Scratch folder (default: system temp)."),
    results_dir: Path | None = typer.Option(None, help="Where engine.json goes (default: bench/results)."),
) -> None:
    """Embedded Hudi writer: insert rate, upsert/delete vs the pyarrow floor, peak memory, many tables."""
    from tributary.bench import engine as bench_engine

    figures = bench_engine.run(rows=rows, tables=tables, changes=changes, seed_rows=seed_rows, workdir=workdir)
    bench_engine.report(figures, results_dir)
