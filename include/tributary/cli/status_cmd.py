"""``tributary status``: the operators' summary in the terminal — states, freshness, backlog and
cadences — computed by the same functions as the ops API's ``/api/overview`` (one source)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table


def _secs(value: float | None) -> str:
    from tributary.ops.charts import human_seconds

    return human_seconds(value)


def _print(doc: dict[str, Any], console: Console) -> None:
    from tributary.ops.widgets import fmt_bytes

    states = ", ".join(f"{n:,} {s}" for s, n in doc["states"].items() if n)
    console.print(f"[bold]tables[/bold]: {sum(doc['states'].values()):,} ({states or 'none'})")
    now = doc["backlog"]["now"]
    console.print(f"[bold]backlog[/bold]: {now['files']:,} files, {fmt_bytes(now['bytes'])} waiting")
    dist = ", ".join(f"{d['bucket']}: {d['tables']:,}" for d in doc["freshness"]["distribution"])
    console.print(f"[bold]freshness[/bold] (time since the newest applied change): {dist}")
    worst = Table(title="stalest tables")
    for col in ("table", "state", "cadence", "since last change"):
        worst.add_column(col)
    for w in doc["freshness"]["worst"]:
        age = _secs(w["freshness_seconds"]) if w["last_applied_at"] else "never"
        worst.add_row(w["table_id"], w["state"], w["cadence"], age)
    console.print(worst)
    cad = Table(title="cadences")
    for col in ("cadence", "tables", "last cycle", "interval", "keeping up"):
        cad.add_column(col)
    for c in doc["cadences"]:
        keeping = "-" if c["keeping_up"] is None else ("yes" if c["keeping_up"] else "NO")
        cad.add_row(
            c["cadence"], str(c["tables"]), _secs(c["last_duration_seconds"]), _secs(c["interval_seconds"]), keeping
        )
    console.print(cad)


def status(
    as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON document."),
) -> None:
    """Is the lake fresh? Table states, freshness, backlog and cadences (as the ops page shows)."""
    from tributary.metadata.db import require_migrated, session_scope
    from tributary.ops.overview import cadences, freshness
    from tributary.ops.queries import backlog_now, state_counts

    require_migrated()
    now = datetime.now(UTC)
    with session_scope() as s:
        doc = {
            "generated_at": now.isoformat(),
            "states": state_counts(s),
            "freshness": freshness(s, now),
            "backlog": {"now": backlog_now(s)},
            "cadences": cadences(s, now),
        }
    if as_json:
        print(json.dumps(doc, sort_keys=True))
    else:
        _print(doc, Console())
