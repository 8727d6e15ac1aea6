"""`tributary db ...`: migrations of the metadata database."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Alembic revision to migrate to.")) -> None:
    """Create or migrate the metadata DB (SQLite by default, TRIBUTARY_DB_URL for PostgreSQL)."""
    from tributary.metadata import db

    before = db.current_revision()
    after = db.upgrade(revision=revision)
    state = "already at" if before == after else f"migrated from {before or 'empty'} to"
    console.print(f"metadata DB {db.describe_url()}: {state} revision {after}")


@app.command("current")
def current() -> None:
    """Show the metadata DB's migration revision and the newest one this version knows."""
    from tributary.metadata import db

    console.print(f"{db.describe_url()}: revision {db.current_revision() or 'none'} (head {db.head_revision()})")
