"""``tributary bench ops``: the ops API's overview and table-list responses on a generated metadata
DB (N tables with a day of runs) against a floor: the very SQL statements each response ran,
captured while it ran, replayed on a raw DB-API cursor (no FastAPI, ORM or JSON). The API is
called in process through its ASGI app with a stand-in user (Airflow's auth is not measured)."""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

ENDPOINTS = {
    "overview": "/api/overview",
    "tables page 1": "/api/tables",
    "backlog stalest": "/api/tables?state=backlog&sort=freshness&page_size=100",
    "search page 3": "/api/tables?search=t01&page=3&page_size=20",
}


def _capture(engine: Any) -> tuple[list[tuple[str, Any]], Any]:
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    return seen, lambda: event.remove(engine, "before_cursor_execute", listener)


def _floor(engine: Any, statements: list[tuple[str, Any]]) -> float:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        start = time.perf_counter()
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
        return time.perf_counter() - start
    finally:
        raw.close()


def measure(repeat: int) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from tributary.metadata.db import get_engine
    from tributary.ops.app import create_app
    from tributary.ops.auth import StaticAuth, StaticUser

    client = TestClient(create_app(StaticAuth(StaticUser("bench", False))), root_path="/tributary")
    engine = get_engine(None)  # the engine session_scope() uses (lru_cache keys get_engine() apart)
    out = []
    for name, path in ENDPOINTS.items():
        client.get(path)  # warm: caches, imports
        api, floor, size = [], [], 0
        for _ in range(repeat):
            seen, stop = _capture(engine)
            start = time.perf_counter()
            r = client.get(path)
            api.append(time.perf_counter() - start)
            stop()
            assert r.status_code == 200, r.text
            size = len(r.content)
            floor.append(_floor(engine, seen))
        a, f = statistics.median(api), statistics.median(floor)
        out.append({"endpoint": name, "path": path, "api_ms": a * 1000, "floor_ms": f * 1000,
                    "ratio": a / f if f else None, "statements": len(seen), "bytes": size})  # fmt: skip
    return out


def ops(
    tables: int = typer.Option(3000, help="Generated tables (three cadences, a day of runs each)."),
    repeat: int = typer.Option(5, help="Timed calls per endpoint (the median is reported)."),
    workdir: Path | None = typer.Option(None, help="Where the SQLite DB goes (default: a temp folder)."),
    results_dir: Path | None = typer.Option(None, help="Where ops.json goes (default: bench/results)."),
) -> None:
    """Ops API overview and table list vs the same SQL run directly (ratio, table, JSON line)."""
    import os

    from tributary.bench.report import emit
    from tributary.metadata import db
    from tributary.ops import synth
    from tributary.settings import get_settings

    folder = Path(tempfile.mkdtemp(prefix="bench-ops-", dir=workdir))
    url = f"sqlite:///{folder / 'ops.db'}"
    os.environ["TRIBUTARY_DB_URL"] = url
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.upgrade(url)
    start = time.perf_counter()
    with db.session_scope(url) as s:
        synth.generate(s, tables, datetime.now(UTC))
    generated = time.perf_counter() - start
    rows = measure(repeat)
    emit(
        "ops",
        f"ops API vs its own SQL replayed raw, {tables:,} tables (median of {repeat})",
        ["endpoint", "API ms", "floor ms", "ratio", "statements", "bytes"],
        [[r["endpoint"], r["api_ms"], r["floor_ms"], r["ratio"], r["statements"], r["bytes"]] for r in rows],
        {
            "tables": tables,
            "repeat": repeat,
            "db": "sqlite",
            "generate_seconds": round(generated, 2),
            "endpoints": rows,
        },
        results_dir,
    )


def register(app: typer.Typer) -> None:
    app.command("ops")(ops)
