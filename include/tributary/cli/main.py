"""Entry point of the ``tributary`` command: the sub-command groups, loaded when they run, and
expected errors (:class:`~tributary.errors.TributaryError`) turned into a clear message and a
non-zero exit.

Start-up time matters (a scheduler runs ``tributary cdc apply`` per table and cadence, mostly
with nothing to do), so this module imports only typer: a command's module, and the libraries it
needs, are imported when that command is resolved (``tributary --help`` resolves them all).
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

import typer
from typer.core import TyperGroup

from tributary.errors import TributaryError


@dataclass(frozen=True)
class _Entry:
    """A sub-command: ``module.attribute`` is a Typer app (a group) or a command function."""

    module: str
    attribute: str
    help: str | None = None
    """The group's help (a command function's help is its docstring)."""


_CLI = "tributary.cli."
COMMANDS: dict[str, _Entry] = {
    "db": _Entry(_CLI + "db_cmd", "app", "Metadata database: migrations."),
    "config": _Entry(_CLI + "config_cmd", "app", "Validate, apply and export configuration."),
    "flows": _Entry(_CLI + "inventory", "flows_app", "Configured flows."),
    "tables": _Entry(_CLI + "inventory", "tables_app", "Configured raw tables."),
    "cdc": _Entry(_CLI + "cdc", "app", "Apply CDC files to one Hudi table (no Airflow, no DB)."),
    "files": _Entry(_CLI + "processing_cmd", "files_app", "Tracked CDC files: register, list, retry, skip."),
    "runs": _Entry(_CLI + "processing_cmd", "runs_app", "Processing history."),
    "locks": _Entry(_CLI + "processing_cmd", "locks_app", "Table leases: list, release --force."),
    "catalog": _Entry(_CLI + "catalog_cmd", "app", "Glue Data Catalog: sync tables, show what it holds."),
    "process": _Entry(_CLI + "processing_cmd", "process"),
    "status": _Entry(_CLI + "status_cmd", "status"),
    "demo": _Entry(_CLI + "demo_cmd", "app", "The demo: taxi dataset → Hudi tables → validation report."),
    "events": _Entry(_CLI + "events_cmd", "app", "S3 events: parse, invoke, sweep, build the Lambda zip."),
    "stack": _Entry(_CLI + "stack_cmd", "app", "The local stack (moto, metadata DB, Airflow): up, down, status."),
    "bench": _Entry(_CLI + "bench", "app", "Benchmarks: a readable table, then one JSON line."),
}
"""Every sub-command, in the order ``tributary --help`` lists them."""


def load_command(name: str) -> Any:
    """The click command of sub-command ``name``, its module imported now (one broken group
    names itself instead of breaking every command)."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        command: Any = typer.main.get_group(target)
        command.help = entry.help
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: lists every sub-command, imports one only when it is resolved."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="tributary",
    cls=LazyGroup,
    help="Metadata-driven CDC-to-Hudi orchestration on Apache Airflow 3.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class ErrConsole:
    """Standard error through rich, which is imported on the first message (not at start-up).
    Takes rich ``Console``'s ``file`` and ``width`` (tests point it at a buffer)."""

    def __init__(self, file: Any = None, width: int | None = None) -> None:
        self.file, self.width = file, width
        self._console: Any = None

    def print(self, message: str) -> None:
        """Print ``message``, rich markup in it applied."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self.file is None, file=self.file, width=self.width)
        self._console.print(message, highlight=False, soft_wrap=True)


err_console = ErrConsole()


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


class _UsageError(Protocol):
    """What click's (and typer's vendored click's) ClickException offers."""

    exit_code: int

    def show(self) -> None: ...


def _is_usage_error(exc: Exception) -> TypeGuard[_UsageError]:
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
    try:
        result = app(args=argv, standalone_mode=False)
    except TributaryError as exc:
        from rich.markup import escape

        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except Exception as exc:
        if _is_usage_error(exc):  # bad options or arguments: click's own message, no traceback
            exc.show()
            return int(exc.exit_code)
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
