"""`tributary events ...`: parse an event, run the invoker or the sweep locally, build the Lambda zip."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


def _read(path: Path) -> object:
    """The JSON document in ``path`` (``-``: stdin); a clear error when it is missing or not JSON."""
    from tributary.errors import EventError

    name = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EventError(f"{name}: cannot read the event file: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EventError(f"{name}: not JSON ({exc}); pass the event as Lambda receives it") from None
    except RecursionError:
        raise EventError(f"{name}: JSON nested too deeply to be an event") from None


@app.command("parse")
def parse_cmd(
    event_file: Path = typer.Argument(..., help="JSON event (Lambda, SQS, SNS, EventBridge); - for stdin."),
) -> None:
    """Print the objects an event announces, one JSON line each."""
    from dataclasses import asdict

    from tributary.events.parsing import parse_dms_key, parse_event

    for event in parse_event(_read(event_file)):
        dms = parse_dms_key(event.key)
        typer.echo(json.dumps({**asdict(event), "uri": event.uri, "dms": asdict(dms) if dms else None}))


@app.command("invoke")
def invoke_cmd(event_file: Path = typer.Argument(..., help="JSON event as Lambda would pass it; - for stdin.")) -> None:
    """Run the triggered invoker on an event here (uses TRIBUTARY_AIRFLOW_* and the metadata DB)."""
    from tributary.events.invoker import handle

    typer.echo(json.dumps(handle(_read(event_file)), indent=1))


@app.command("schedule")
def schedule_cmd(flow_id: str = typer.Argument(..., help="Flow to trigger as the scheduled invoker would.")) -> None:
    """Trigger a flow's DAG as the scheduled invoker (EventBridge schedule) does."""
    from tributary.events.scheduled import handle_scheduled

    typer.echo(json.dumps(handle_scheduled({"flow_id": flow_id}), indent=1))


@app.command("sweep")
def sweep_cmd(
    stale_seconds: int = typer.Option(300, help="Pending files older than this also get a run."),
    grace_seconds: int = typer.Option(
        120, help="Files younger than this are left to their S3 events (which may still be on the way)."
    ),
    no_trigger: bool = typer.Option(False, "--no-trigger", help="Only register, trigger nothing."),
) -> None:
    """Register files in staging that no event announced, and trigger the flows that need a run."""
    from tributary.events.sweep import sweep

    typer.echo(
        json.dumps(
            sweep(stale_seconds=stale_seconds, grace_seconds=grace_seconds, trigger=not no_trigger).as_dict(), indent=1
        )
    )


@app.command("package")
def package_cmd(
    out: Path | None = typer.Option(None, "--out", help="Zip to write (default dist/tributary-invoker.zip)."),
    no_deps: bool = typer.Option(False, "--no-deps", help="Only the tributary package (dependencies in a layer)."),
) -> None:
    """Build the deployable Lambda zip (handlers tributary.events.invoker.handler, ...scheduled.handler)."""
    from tributary.events.packaging import DEFAULT_ZIP, build_zip

    path = out or DEFAULT_ZIP
    counts = build_zip(path, with_dependencies=not no_deps)
    typer.echo(f"{path}: {counts['files']} files, {counts['distributions']} distributions, {counts['bytes']:,} bytes")
