"""`tributary config ...`: validate, apply (with a plan), export, refresh the snapshot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tributary.errors import ConfigValidationError

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)

PathsArg = typer.Argument(..., help="YAML files or folders holding *.yaml", show_default=False)


def _print_problems(exc: ConfigValidationError) -> None:
    err.print(f"[bold red]{len(exc.problems)} problem(s) found:[/]")
    for problem in exc.problems:
        err.print(f"  {escape(str(problem))}", highlight=False, soft_wrap=True)


@app.command("validate")
def validate(
    paths: list[Path] = PathsArg,
    as_json: bool = typer.Option(False, "--json", help="Print problems as JSON lines."),
) -> None:
    """Check config files; print every problem with file, line, row and field."""
    from tributary.config.service import validate_paths

    try:
        config = validate_paths(paths)
    except ConfigValidationError as exc:
        if as_json:
            for p in exc.problems:
                sys.stdout.write(json.dumps(p.as_dict()) + "\n")
        else:
            _print_problems(exc)
        raise typer.Exit(2) from None
    console.print(
        f"[green]valid:[/] {len(config.templates)} templates, {len(config.cadences)} cadences, "
        f"{len(config.tables)} raw tables, {len(config.flows)} flows"
    )


@app.command("apply")
def apply(
    paths: list[Path] = PathsArg,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan, change nothing."),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Allow a plan that removes every flow, template or cadence."
    ),
) -> None:
    """Apply config: print the plan, apply it in one transaction, audit it, write the snapshot."""
    from tributary.config.service import apply_paths

    try:
        result = apply_paths(paths, dry_run=dry_run, allow_empty=allow_empty)
    except ConfigValidationError as exc:
        _print_problems(exc)
        raise typer.Exit(2) from None
    plan = result.plan
    if plan.is_empty:
        console.print("plan: no changes (0 to add, 0 to change, 0 to remove)")
    else:
        table = Table(title="plan", show_lines=False)
        for col in ("action", "section", "row", "fields changed"):
            table.add_column(col)
        styles = {"add": "green", "change": "yellow", "remove": "red"}
        for e in plan.entries:
            table.add_row(
                f"[{styles[e.action]}]{e.action}[/]",
                e.section,
                escape(e.row_id),
                escape(", ".join(e.changed_fields)),
            )
        console.print(table)
        console.print(
            f"plan: {plan.count('add')} to add, {plan.count('change')} to change, {plan.count('remove')} to remove"
        )
    if dry_run:
        console.print("dry run: nothing applied")
    elif result.batch_id:
        console.print(f"applied (audit batch {result.batch_id})")
    if result.snapshot is not None and result.snapshot.path is not None:
        console.print(f"snapshot written: {result.snapshot.path}")


@app.command("export")
def export(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Print the config in the DB as YAML that applies back with an empty plan."""
    from tributary.config.service import export_yaml

    text = export_yaml()
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        console.print(f"exported to {output}")


@app.command("snapshot")
def snapshot() -> None:
    """Rewrite the config snapshot that DAG files read, from the DB."""
    from tributary.config.service import refresh_snapshot

    snap = refresh_snapshot()
    disabled = sum(len(v) for v in snap.disabled.values())
    console.print(
        f"snapshot written: {snap.path} ({len(snap.flows)} flows, {len(snap.tables)} tables, {disabled} disabled rows)"
    )
