"""`tributary bench chaos` and `tributary bench processor`: the file processor's benchmarks."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("chaos")(chaos)
    app.command("processor")(processor)


def chaos(
    trials: int = typer.Option(100, "--trials", min=1, help="Crash and race trials to run."),
    tables: int = typer.Option(3, "--tables", min=1, help="Tables per trial."),
    seed: int = typer.Option(7, "--seed", help="Random seed (crash points, delays, data)."),
    db_url: str | None = typer.Option(
        None, "--db-url", help="PostgreSQL server to run on (a scratch database is created); default SQLite."
    ),
) -> None:
    """SIGKILL the processor at random points and race workers while files arrive duplicated, late
    and re-uploaded with new content; count lost and duplicated files."""
    from tributary.bench.chaos import run_chaos
    from tributary.bench.report import emit

    stats = run_chaos(trials, tables=tables, seed=seed, db_url=db_url)
    figures = {
        "trials": stats.trials,
        "lost": stats.lost,
        "duplicated": stats.duplicated,
        "mismatched_tables": stats.mismatched_tables,
        "unmarked_files": stats.unmarked,
        "kills": stats.kills,
        "races": stats.races,
        "late_files": stats.late,
        "touched_files": stats.touched,
        "reuploads": stats.reuploads,
        "reuploads_refused": stats.refused,
        "reuploads_applied": stats.reapplied,
        "files": stats.files,
        "recovery_runs": stats.recovery_runs,
        "crash_points": stats.crash_points,
        "seconds": round(stats.seconds, 2),
        "db": "postgresql" if db_url and db_url.startswith("postgres") else "sqlite",
    }
    rows = [[k, v] for k, v in figures.items() if k != "crash_points"]
    rows += [[f"crash point {k}", v] for k, v in sorted(stats.crash_points.items())]
    emit("chaos", "chaos: crash and race trials", ["figure", "value"], rows, figures)
    if stats.lost or stats.duplicated or stats.mismatched_tables or stats.unmarked or stats.reapplied:
        raise typer.Exit(1)


def processor(
    tables: int = typer.Option(3000, "--tables", min=1, help="Configured tables, one small CDC file each."),
    changes: int = typer.Option(1000, "--changes", min=1, help="Changes per CDC file."),
    db_url: str | None = typer.Option(
        None, "--db-url", help="Also run on this PostgreSQL server (a scratch database is created)."
    ),
) -> None:
    """Process a cadence of many tables with one small CDC file each; where the time goes."""
    from tributary.bench.processor import run_processor_bench

    run_processor_bench(tables=tables, changes=changes, pg_url=db_url)
