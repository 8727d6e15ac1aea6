"""Small HTML pieces the ops pages share: state badges, byte sizes, links into Airflow's UI."""

from __future__ import annotations

from html import escape as e
from typing import Any

from tributary.metadata.models import RunStatus


def state_badge(state: str) -> str:
    return f'<span class="state s-{e(state)}">{e(state)}</span>'


def airflow_link(ctx: dict[str, Any], path: str | None, label: str) -> str:
    if not path:
        return '<span class="muted">-</span>'
    return f'<a class="af" target="_top" href="{e(ctx["airflow"])}/{e(path)}">{e(label)}</a>'


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def run_badge(status: str) -> str:
    cls = {RunStatus.COMPLETED.value: "ok", RunStatus.FAILED.value: "failing"}.get(status, "backlog")
    return f'<span class="state s-{cls}">{e(status)}</span>'
