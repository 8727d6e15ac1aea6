"""How every benchmark reports: a readable table, then the figures as one JSON line (the last line
printed), also written to ``bench/results/<name>.json``."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tributary.settings import PROJECT_ROOT


def emit(
    name: str,
    title: str,
    columns: list[str],
    rows: list[list[Any]],
    figures: dict[str, Any],
    results_dir: Path | None = None,
) -> Path:
    console = Console()
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)
    doc = {
        "bench": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        **figures,
    }
    out_dir = results_dir or PROJECT_ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(json.dumps(doc, sort_keys=True), flush=True)
    return path


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
