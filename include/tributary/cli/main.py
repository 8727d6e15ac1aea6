"""Entry point of the ``tributary`` command: mounts the sub-command groups and turns expected
errors (:class:`~tributary.errors.TributaryError`) into a clear message and a non-zero exit."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console
from rich.markup import escape

from tributary.errors import TributaryError

app = typer.Typer(
    name="tributary",
    help="Metadata-driven CDC-to-Hudi orchestration on Apache Airflow 3.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


_mounted = False


def _mount() -> None:
    """Add the sub-command groups once per process (``main`` may be called many times, e.g. by
    tests; mounting again would register every group again)."""
    global _mounted
    if _mounted:
        return
    _mounted = True
    # Imported here so `tributary --help` stays fast and one broken group names itself.
    from tributary.cli import (
        bench,
        bench_processing,
        catalog_cmd,
        cdc,
        config_cmd,
        db_cmd,
        demo_cmd,
        inventory,
        processing_cmd,
    )

    app.add_typer(db_cmd.app, name="db", help="Metadata database: migrations.")
    app.add_typer(config_cmd.app, name="config", help="Validate, apply and export configuration.")
    app.add_typer(inventory.flows_app, name="flows", help="Configured flows.")
    app.add_typer(inventory.tables_app, name="tables", help="Configured raw tables.")
    app.add_typer(cdc.app, name="cdc", help="Apply CDC files to one Hudi table (no Airflow, no DB).")
    app.add_typer(processing_cmd.files_app, name="files", help="Tracked CDC files: register, list, retry, skip.")
    app.add_typer(processing_cmd.runs_app, name="runs", help="Processing history.")
    app.add_typer(processing_cmd.locks_app, name="locks", help="Table leases: list, release --force.")
    app.add_typer(catalog_cmd.app, name="catalog", help="Glue Data Catalog: sync tables, show what it holds.")
    app.command("process")(processing_cmd.process)
    from tributary.cli import status_cmd

    app.command("status")(status_cmd.status)
    app.add_typer(demo_cmd.app, name="demo", help="The demo: taxi dataset → Hudi tables → validation report.")
    from tributary.cli import events_cmd, stack_cmd

    app.add_typer(events_cmd.app, name="events", help="S3 events: parse, invoke, sweep, build the Lambda zip.")
    app.add_typer(stack_cmd.app, name="stack", help="The local stack (moto, metadata DB, Airflow): up, down, status.")
    bench_processing.register(bench.app)
    from tributary.bench import events as bench_events

    bench_events.register(bench.app)
    from tributary.bench import ops as bench_ops

    bench_ops.register(bench.app)
    app.add_typer(bench.app, name="bench", help="Benchmarks: a readable table, then one JSON line.")


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _is_usage_error(exc: Exception) -> bool:
    """Typer vendors its own click; accept either click's exception classes."""
    import click

    classes: list[type] = [click.exceptions.ClickException]
    try:
        from typer._click.exceptions import ClickException as TyperClickException

        classes.append(TyperClickException)
    except ImportError:  # older typer uses click itself
        pass
    return isinstance(exc, tuple(classes))


def main(argv: list[str] | None = None) -> int:
    _mount()
    try:
        result = app(args=argv, standalone_mode=False)
    except TributaryError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except Exception as exc:
        if _is_usage_error(exc):  # bad options or arguments: click's own message, no traceback
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)  # type: ignore[attr-defined]
        raise
    # click returns a typer.Exit's code instead of raising it when not in standalone mode
    return result if isinstance(result, int) else 0


def run() -> None:
    """The ``tributary`` command: :func:`main`, then leave without running native finalisers.

    Native libraries can abort in their own teardown at interpreter exit ("terminate called
    without an active exception", SIGABRT: seen in about 2% of ``cdc apply`` processes after the
    commit, in the crash tests). The work is committed by then, but the exit status would say it
    failed and a scheduler would retry and alert. So the command flushes its output and logs and
    exits with its own status at once.
    """
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # an unexpected error: its traceback, then the usual status
        import traceback

        traceback.print_exc()
        code = 1
    exit_now(code)


def exit_now(code: int) -> None:
    """Flush logs and the standard streams, then end the process with ``code`` (no finalisers)."""
    import contextlib
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
