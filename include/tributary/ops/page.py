"""The ops pages as HTML (overview, tables, one table), server-rendered from the API's documents:
every value escaped, charts as inline SVG (:mod:`tributary.ops.charts`), links to Airflow's DAG
runs and task logs opened in Airflow's own window (``target=_top``: the page lives in Airflow's
iframe), actions posted by a small script (:mod:`tributary.ops.auth` says what they need)."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from tributary.ops.charts import Series, bars, duration_bars, human_seconds
from tributary.ops.params import SortKey, SortOrder, TableQuery
from tributary.ops.theme import SCRIPT, STYLE
from tributary.ops.widgets import airflow_link, fmt_bytes, state_badge

e = escape


def _layout(title: str, body: str, ctx: dict[str, Any], tab: str) -> str:
    base = e(ctx["base"])
    tabs = "".join(
        f'<a href="{base}{href}" class="tab{" on" if name == tab else ""}">{label}</a>'
        for name, href, label in (("overview", "/", "Overview"), ("tables", "/tables", "Tables"))
    )
    mode = "" if ctx["can_edit"] else ' · <span class="badge">read-only</span>'
    return f"""<!doctype html><html data-theme="light"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style>
<script>{SCRIPT}</script></head><body data-base="{base}">
<header><h1>Tributary</h1><nav>{tabs}</nav><span class="muted who">{e(ctx["user"])}{mode}</span></header>
<div id="flash" role="status"></div>{body}</body></html>"""


def _table_link(ctx: dict[str, Any], table_id: str) -> str:
    return f'<a href="{e(ctx["base"])}/tables/{quote(table_id, safe="")}">{e(table_id)}</a>'


def _hour(iso: str | None) -> str:
    return (iso or "")[11:13] + "h"


def _hourly_charts(doc: dict[str, Any]) -> tuple[str, str, str]:
    """Backlog, throughput and failures over the last 24 hours, as SVG."""
    series = doc["backlog"]["series"]
    backlog_chart = bars(
        "chart-backlog", "files waiting, end of each hour", [_hour(p["at"]) for p in series],
        [[p["files"]] for p in series], [Series("files waiting", "--c-warn")], tick_every=4,
        keys=[p["at"] for p in series],
    )  # fmt: skip
    thru = doc["throughput"]
    thru_chart = bars(
        "chart-throughput", "rows applied per hour", [_hour(h["hour"]) for h in thru],
        [[h["inserted"], h["updated"], h["deleted"]] for h in thru],
        [Series("inserted", "--c-insert"), Series("updated", "--c-update"), Series("deleted", "--c-delete")],
        tick_every=4, keys=[h["hour"] for h in thru],
    )  # fmt: skip
    fail_chart = bars(
        "chart-failures", "failed runs per hour", [_hour(h["hour"]) for h in doc["failures"]],
        [[h["failed_runs"]] for h in doc["failures"]], [Series("failed runs", "--c-fail")], tick_every=4,
        keys=[h["hour"] for h in doc["failures"]],
    )  # fmt: skip
    return backlog_chart, thru_chart, fail_chart


def overview_page(doc: dict[str, Any], ctx: dict[str, Any]) -> str:
    states = "".join(
        f'<a class="card" data-state="{e(s)}" href="{e(ctx["base"])}/tables?state={e(s)}">'
        f'<b class="n">{n:,}</b>{state_badge(s)}</a>'
        for s, n in doc["states"].items()
    )
    fresh = doc["freshness"]
    dist = bars(
        "chart-freshness",
        "tables by time since their newest applied change",
        [d["bucket"] for d in fresh["distribution"]],
        [[d["tables"]] for d in fresh["distribution"]],
        [Series("tables", "--c-accent")],
    )
    worst = "".join(
        f'<tr data-table="{e(w["table_id"])}"><td>{_table_link(ctx, w["table_id"])}</td><td>{state_badge(w["state"])}</td>'
        f"<td>{e(w['cadence'])}</td><td>{human_seconds(w['freshness_seconds']) if w['last_applied_at'] else 'never'}</td></tr>"
        for w in fresh["worst"]
    )
    backlog = doc["backlog"]
    backlog_chart, thru_chart, fail_chart = _hourly_charts(doc)
    cad = doc["cadences"]
    cad_chart = duration_bars(
        "chart-cadences", [(c["cadence"], c["last_duration_seconds"], c["interval_seconds"]) for c in cad]
    )
    cad_rows = "".join(
        f'<tr data-cadence="{e(c["cadence"])}"><td>{e(c["cadence"])}</td><td><code>{e(c["schedule"])}</code></td>'
        f"<td>{c['tables']:,}</td><td>{human_seconds(c['last_duration_seconds'])}</td>"
        f"<td>{human_seconds(c['interval_seconds'])}</td><td>{_keeping(c['keeping_up'])}</td>"
        f"<td>{airflow_link(ctx, _run_path(c), c['last_dag_run_id'] or '')}</td></tr>"
        for c in cad
    )
    alerts = "".join(
        f"<tr><td>{e(a['created_at'] or '')}</td><td>{e(a['subject'])}</td><td>{e(a['status'])}</td>"
        f"<td>{a['occurrences']}</td><td>{e(', '.join(a['tables']))}</td></tr>"
        for a in doc["alerts"]
    )
    body = f"""<section class="cards" id="states" data-generated="{e(doc["generated_at"])}">{states}</section>
<div class="grid">
<section class="panel"><h2>Freshness</h2><p class="muted">time since each active table's newest applied change</p>
{dist}</section>
<section class="panel"><h2>Stalest tables</h2><table id="worst"><thead><tr><th>table</th><th>state</th><th>cadence</th>
<th>since last change</th></tr></thead><tbody>{worst}</tbody></table></section>
<section class="panel"><h2>Backlog</h2><p class="muted" id="backlog-now" data-files="{backlog["now"]["files"]}"
data-bytes="{backlog["now"]["bytes"]}">now: <b>{backlog["now"]["files"]:,}</b> files, <b>{fmt_bytes(backlog["now"]["bytes"])}</b>
waiting</p>{backlog_chart}</section>
<section class="panel"><h2>Throughput</h2><p class="muted">rows per hour, last 24 hours (UTC)</p>{thru_chart}</section>
<section class="panel"><h2>Failures</h2><p class="muted">failed table runs per hour</p>{fail_chart}</section>
<section class="panel"><h2>Cadences</h2><p class="muted">last cycle's duration against the schedule's interval</p>
{cad_chart}</section>
</div>
<section class="panel"><table id="cadences"><thead><tr><th>cadence</th><th>schedule</th><th>tables</th><th>last cycle</th>
<th>interval</th><th>keeping up</th><th>last DAG run</th></tr></thead><tbody>{cad_rows}</tbody></table></section>
<section class="panel"><h2>Recent alerts</h2><table id="alerts"><thead><tr><th>at</th><th>subject</th><th>delivery</th>
<th>occurrences</th><th>tables</th></tr></thead><tbody>{alerts or '<tr><td colspan="5" class="muted">none</td></tr>'}
</tbody></table></section>"""
    return _layout("Tributary — overview", body, ctx, "overview")


def _run_path(c: dict[str, Any]) -> str | None:
    from tributary.ops.detail import airflow_paths

    return airflow_paths(c["last_dag_id"], c["last_dag_run_id"], None)["dag_run"]


def _keeping(value: bool | None) -> str:
    if value is None:
        return '<span class="muted">-</span>'
    return '<span class="state s-ok">yes</span>' if value else '<span class="state s-failing">no</span>'


def _select(name: str, current: str | None, options: list[str]) -> str:
    opts = "".join(f'<option value="{e(o)}"{" selected" if o == current else ""}>{e(o)}</option>' for o in options)
    return f'<select name="{name}" aria-label="{name}"><option value="">any {name}</option>{opts}</select>'


def _href(ctx: dict[str, Any], query: TableQuery, **changes: Any) -> str:
    params = {**query.as_params(), **{k: str(v) for k, v in changes.items() if v is not None}}
    params = {k: v for k, v in params.items() if v}
    return f"{ctx['base']}/tables" + (f"?{urlencode(params)}" if params else "")


def _sort_header(ctx: dict[str, Any], query: TableQuery, key: SortKey, label: str) -> str:
    order = SortOrder.DESC if query.sort == key and query.order == SortOrder.ASC else SortOrder.ASC
    arrow = (" ▲" if query.order == SortOrder.ASC else " ▼") if query.sort == key else ""
    return f'<th><a href="{e(_href(ctx, query, sort=key.value, order=order.value, page=1))}">{label}{arrow}</a></th>'


def tables_page(doc: dict[str, Any], query: TableQuery, ctx: dict[str, Any]) -> str:
    ch = doc["choices"]
    form = f"""<form id="filters" method="get" action="{e(ctx["base"])}/tables">
<input type="search" name="search" placeholder="search tables" value="{e(query.search or "")}" aria-label="search">
{_select("state", query.state.value if query.state else None, ch["states"])}
{_select("cadence", query.cadence, ch["cadences"])}{_select("flow", query.flow, ch["flows"])}
{_select("database", query.database, ch["databases"])}
<input type="hidden" name="sort" value="{e(query.sort.value)}"><input type="hidden" name="order" value="{e(query.order.value)}">
<button type="submit">Apply</button> <a href="{e(ctx["base"])}/tables">clear</a></form>"""
    rows = "".join(
        f'<tr data-table="{e(t["table_id"])}" data-state="{e(t["state"])}"><td>{_table_link(ctx, t["table_id"])}</td>'
        f"<td>{state_badge(t['state'])}</td><td>{e(t['database'])}</td><td>{e(t['cadence'])}</td>"
        f"<td>{human_seconds(t['freshness_seconds']) if t['last_applied_at'] else 'never'}</td>"
        f"<td>{t['pending'] + t['failed'] + t['processing']}</td><td>{t['quarantined']}</td>"
        f"<td>{fmt_bytes(t['pending_bytes'])}</td><td>{e(t['last_run_status'] or '-')}</td>"
        f"<td>{e(t['lease_holder'] or '-')}</td></tr>"
        for t in doc["tables"]
    )
    s = _sort_header
    head = (
        s(ctx, query, SortKey.TABLE, "table") + s(ctx, query, SortKey.STATE, "state") + "<th>database</th>"
        + s(ctx, query, SortKey.CADENCE, "cadence") + s(ctx, query, SortKey.FRESHNESS, "freshness")
        + s(ctx, query, SortKey.PENDING, "waiting") + "<th>quarantined</th>"
        + s(ctx, query, SortKey.PENDING_BYTES, "bytes waiting") + s(ctx, query, SortKey.LAST_RUN, "last run")
        + "<th>lease</th>"
    )  # fmt: skip
    prev = (
        f'<a id="prev" href="{e(_href(ctx, query, page=query.page - 1))}">&lsaquo; previous</a>'
        if query.page > 1
        else ""
    )
    nxt = (
        f'<a id="next" href="{e(_href(ctx, query, page=query.page + 1))}">next &rsaquo;</a>'
        if query.page < doc["pages"]
        else ""
    )
    pager = (
        f'<div class="pager" id="pager" data-total="{doc["total"]}" data-page="{doc["page"]}" data-pages="{doc["pages"]}">'
        f"{prev} page {doc['page']} of {doc['pages']} · {doc['total']:,} tables {nxt}</div>"
    )
    body = f"""<section class="panel">{form}{pager}<table id="tables"><thead><tr>{head}</tr></thead>
<tbody>{rows or '<tr><td colspan="10" class="muted">no table matches</td></tr>'}</tbody></table>{pager}</section>"""
    return _layout("Tributary — tables", body, ctx, "tables")


def table_page(doc: dict[str, Any], ctx: dict[str, Any]) -> str:
    from tributary.ops.table_page import render_table

    return _layout(f"Tributary — {doc['table']['table_id']}", render_table(doc, ctx), ctx, "tables")
