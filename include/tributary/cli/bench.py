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
    workdir: Path | None = typer.Option(
        None, exists=True, file_okay=False, writable=True, help="Scratch folder, existing (default: system temp)."
    ),
    results_dir: Path | None = typer.Option(None, help="Where engine.json goes (default: bench/results)."),
) -> None:
    """Embedded Hudi writer: insert rate, upsert/delete vs the pyarrow floor, peak memory, many tables."""
    from tributary.bench import engine as bench_engine

    figures = bench_engine.run(rows=rows, tables=tables, changes=changes, seed_rows=seed_rows, workdir=workdir)
    bench_engine.report(figures, results_dir)


@app.command("peers")
def peers(
    rows: int = typer.Option(1_000_000, help="Rows of the full load (14 columns); the other steps scale with it."),
    repeats: int = typer.Option(5, min=1, help="Repeats; the order of the systems rotates per repeat."),
    partitioned: bool = typer.Option(False, "--partitioned", help="Partition every table by region (8 values)."),
    workdir: Path | None = typer.Option(
        None, exists=True, file_okay=False, writable=True, help="Scratch folder, existing (default: system temp)."
    ),
    results_dir: Path | None = typer.Option(None, help="Where peers.json goes (default: bench/results)."),
    target_file_size_bytes: int | None = typer.Option(None, help="Tributary's table option (Hudi's default if unset)."),
    small_file_limit_bytes: int | None = typer.Option(
        None, help="Tributary's table option (0: no small-file packing)."
    ),
    record_size_estimate_bytes: int | None = typer.Option(
        None, help="Tributary's table option (first write's sizing)."
    ),
) -> None:
    """Tributary (API and CLI) vs delta-rs MERGE vs a duckdb floor on one DMS workload, checked."""
    from tributary.bench import peers as bench_peers
    from tributary.bench.peers_contenders import bench_options

    given = {
        "target_file_size_bytes": target_file_size_bytes,
        "small_file_limit_bytes": small_file_limit_bytes,
        "record_size_estimate_bytes": record_size_estimate_bytes,
    }
    sizing = {k: v for k, v in given.items() if v is not None}
    bench_options(partitioned, sizing)  # a bad value stops the bench before it starts, named
    figures = bench_peers.run(rows=rows, repeats=repeats, partitioned=partitioned, workdir=workdir, sizing=sizing)
    bench_peers.report(figures, results_dir)
    if not figures["correct"]:
        raise typer.Exit(1)


@app.command("parse")
def parse(
    flows: str = typer.Option("100,1000", help="Flow counts (5 python tasks each), comma-separated."),
    tables: int = typer.Option(3_000, help="Tables of the one cdc_to_hudi flow (0 to skip)."),
    repeat: int = typer.Option(3, help="Parses per figure (the best is kept)."),
    workdir: Path | None = typer.Option(
        None, exists=True, file_okay=False, writable=True, help="Scratch folder, existing (default: system temp)."
    ),
    results_dir: Path | None = typer.Option(None, help="Where parse.json goes (default: bench/results)."),
) -> None:
    """DAG factory parse time for many flows and one big cdc flow, against Airflow's own floor."""
    from tributary.bench import parse as bench_parse

    counts = [int(x) for x in flows.split(",") if x.strip()]
    bench_parse.report(bench_parse.run(flows=counts, tables=tables, repeat=repeat, workdir=workdir), results_dir)


def _register_more() -> None:
    """The benchmarks defined beside what they measure."""
    from tributary.bench import events as bench_events
    from tributary.bench import ops as bench_ops
    from tributary.cli import bench_processing

    bench_processing.register(app)
    bench_events.register(app)
    bench_ops.register(app)


_register_more()
