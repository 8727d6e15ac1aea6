"""`tributary stack up | down | status`: the local stack (moto, metadata DB, Airflow) on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True)

DIR_OPTION = typer.Option(None, "--dir", help="Where the stack keeps state, logs and data (default .stack/local).")


def _dir(directory: Path | None) -> Path:
    from tributary.stack.stack import DEFAULT_DIR

    return directory or DEFAULT_DIR


@app.command("up")
def up_cmd(
    directory: Path | None = DIR_OPTION,
    db: str = typer.Option("sqlite", "--db", help="Metadata DBs: sqlite (default) or postgres (a private cluster)."),
    config: list[Path] | None = typer.Option(None, "--config", help="Apply this config (files or folders) at start."),
    timeout: float = typer.Option(120, "--timeout", help="Seconds to wait for Airflow to be healthy."),
) -> None:
    """Start the stack (or report it when already up); prints URLs and where the login is."""
    from tributary.stack.stack import up

    state = up(_dir(directory), db=db, config=config or None, timeout=timeout)
    console = Console()
    table = Table(title="tributary stack")
    table.add_column("part")
    table.add_column("where")
    for name, url in state.urls.items():
        table.add_row(name, url)
    table.add_row("login", state.login_file)
    table.add_row("environment", f"source {Path(state.dir) / 'env'}")
    table.add_row("logs", str(Path(state.dir) / "logs"))
    console.print(table)


@app.command("down")
def down_cmd(directory: Path | None = DIR_OPTION) -> None:
    """Stop every process the stack started (process groups: TERM, then KILL)."""
    from tributary.stack.stack import down

    stopped = down(_dir(directory))
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "no stack running")


@app.command("status")
def status_cmd(
    directory: Path | None = DIR_OPTION, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Processes, health and URLs of the stack; exit 1 when it is not (fully) up."""
    from tributary.stack.stack import status

    doc = status(_dir(directory))
    if doc is None:
        typer.echo("no stack running")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
    else:
        console = Console()
        table = Table(title=f"tributary stack ({doc['dir']})")
        table.add_column("process")
        table.add_column("pid")
        table.add_column("alive")
        table.add_column("health")
        for name, proc in doc["processes"].items():
            table.add_row(
                name, str(proc["pid"]), "yes" if proc["alive"] else "NO", doc["health"].get(name.replace("-", "_"), "")
            )
        console.print(table)
        for name, url in doc["urls"].items():
            console.print(f"{name}: {url}")
    if not all(p["alive"] for p in doc["processes"].values()):
        raise typer.Exit(1)


@app.command("provision")
def provision_cmd(
    config: list[Path] = typer.Option(..., "--config", help="Config files or folders naming the resources."),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="The AWS stand-in's endpoint (default TRIBUTARY_S3_ENDPOINT_URL / AWS_ENDPOINT_URL)."
    ),
    region: str = typer.Option("us-east-1", "--region"),
) -> None:
    """Create on a local AWS stand-in (moto) the buckets, queues and S3 notifications a config
    names (`stack up --config` does this itself). Refuses real AWS: there, Terraform owns them."""
    from tributary.config.service import validate_paths
    from tributary.errors import StackError
    from tributary.settings import get_settings
    from tributary.stack.provision import provision

    url = endpoint or get_settings().s3_endpoint_url
    if not url or "amazonaws.com" in url:
        raise StackError(
            "stack provision only talks to a local AWS stand-in such as moto: pass --endpoint "
            "http://host:port or set AWS_ENDPOINT_URL (in an AWS account, create these with your IaC)"
        )
    done = provision(validate_paths(list(config)), url, region)
    typer.echo(
        f"provisioned on {url}: buckets {', '.join(done.buckets) or '-'}; queues {', '.join(done.queues) or '-'}; "
        f"notifications {sum(len(v) for v in done.notifications.values())} prefix(es)"
    )
