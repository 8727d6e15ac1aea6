"""The body of one table's page: facts, commits, runs with Airflow links, files, quarantined files
with their actions, lease, schema and its changes, and the catalog slot."""

from __future__ import annotations

from html import escape as e
from typing import Any
from urllib.parse import quote

from tributary.ops.charts import Series, bars, human_seconds
from tributary.ops.widgets import airflow_link, fmt_bytes, run_badge, state_badge


def _action(url: str, label: str, text: str) -> str:
    return f'<button type="button" class="act" data-url="{e(url)}" data-label="{e(label)}">{e(text)}</button>'


def _runs(doc: dict[str, Any], ctx: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr data-run="{r["run_id"]}"><td>{r["run_id"]}</td><td>{run_badge(r["status"])}</td>'
        f"<td>{e(r['started_at'] or '')}</td><td>{human_seconds(r['duration_seconds'])}</td><td>{r['files']}</td>"
        f"<td>{airflow_link(ctx, r['airflow']['dag_run'], r['dag_run_id'] or '')}</td>"
        f'<td>{airflow_link(ctx, r["airflow"]["task_log"], "log")}</td><td class="err">{e(r["error"] or "")}</td></tr>'
        for r in doc["runs"]
    )
    return (
        '<table id="runs"><thead><tr><th>run</th><th>status</th><th>started</th><th>duration</th><th>files</th>'
        f"<th>Airflow DAG run</th><th>task log</th><th>error</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _commits(doc: dict[str, Any], ctx: dict[str, Any]) -> str:
    commits = doc["commits"]
    oldest_first = list(reversed(commits))
    chart = bars(
        "chart-commits", "rows per commit", [c["commit_instant"][8:12] for c in oldest_first],
        [[c["inserted"], c["updated"], c["deleted"]] for c in oldest_first],
        [Series("inserted", "--c-insert"), Series("updated", "--c-update"), Series("deleted", "--c-delete")],
        height=150, tick_every=max(1, len(commits) // 8),
    ) if commits else ""  # fmt: skip
    rows = "".join(
        f'<tr data-commit="{e(c["commit_instant"])}"><td><code>{e(c["commit_instant"])}</code></td>'
        f'<td>{e(c["finished_at"] or "")}</td><td class="n">{c["inserted"]:,}</td><td class="n">{c["updated"]:,}</td>'
        f'<td class="n">{c["deleted"]:,}</td><td>{airflow_link(ctx, c["airflow"]["dag_run"], c["dag_run_id"] or "")}</td></tr>'
        for c in commits
    )
    return (
        f'{chart}<table id="commits"><thead><tr><th>commit</th><th>at</th><th>inserted</th><th>updated</th>'
        f"<th>deleted</th><th>Airflow DAG run</th></tr></thead><tbody>"
        f"{rows or '<tr><td colspan=6 class=muted>no commit yet</td></tr>'}</tbody></table>"
    )


def _quarantined(doc: dict[str, Any], ctx: dict[str, Any]) -> str:
    rows = ""
    for f in doc["quarantined"]:
        fid = int(f["file_id"])
        buttons = ""
        if ctx["can_edit"]:
            url = f"{ctx['base']}/api/files/{fid}"
            buttons = _action(f"{url}/retry", f"Retry file {fid}", "retry") + _action(
                f"{url}/skip", f"Skip file {fid}", "skip"
            )
        rows += (
            f'<tr data-file="{fid}"><td><code>{e(str(f["file"]))}</code></td><td>{f["attempts"]}</td>'
            f'<td class="err">{e(f["reason"] or "")}</td><td>{buttons}</td></tr>'
        )
    if not rows:
        return '<p class="muted" id="quarantined">no quarantined file</p>'
    return (
        '<table id="quarantined"><thead><tr><th>file</th><th>attempts</th><th>reason</th><th></th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _files(doc: dict[str, Any]) -> str:
    counts = " · ".join(f"{n:,} {e(s)}" for s, n in sorted(doc["file_counts"].items()))
    rows = "".join(
        f'<tr data-file="{f["file_id"]}" data-status="{e(f["status"])}"><td><code>{e(str(f["file"]))}</code></td>'
        f"<td>{e(f['status'])}</td><td>{fmt_bytes(f['size_bytes'])}</td><td>{e(f['landed_at'] or '')}</td>"
        f"<td>{e(f['processed_at'] or '')}</td><td>{f['attempts']}</td></tr>"
        for f in doc["files"]
    )
    return (
        f'<p class="muted" id="file-counts">{counts or "no file"}</p><table id="files"><thead><tr><th>file</th>'
        "<th>status</th><th>size</th><th>landed</th><th>processed</th><th>attempts</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _schema(doc: dict[str, Any]) -> str:
    sch = doc["schema"]
    cols = "".join(f"<tr><td>{e(c['name'])}</td><td><code>{e(c['type'])}</code></td></tr>" for c in sch["columns"])
    changes = "".join(
        f"<li><code>{e(c['instant'])}</code>: "
        + "; ".join(f"{kind} {e(', '.join(c[kind]))}" for kind in ("added", "removed", "changed") if c[kind])
        + "</li>"
        for c in sch["changes"]
    )
    note = f'<p class="muted">{e(sch["note"])}</p>' if sch.get("note") else ""
    return (
        f'{note}<table id="schema"><thead><tr><th>column</th><th>type</th></tr></thead><tbody>{cols}</tbody></table>'
        f'<h3>Changes</h3><ul id="schema-changes">{changes or "<li class=muted>none recorded</li>"}</ul>'
    )


def render_table(doc: dict[str, Any], ctx: dict[str, Any]) -> str:
    t, lease = doc["table"], doc["lease"]
    release = ""
    if lease["holder"] and ctx["can_edit"]:
        url = f"{ctx['base']}/api/locks/{quote(t['table_id'], safe='')}/release"
        release = _action(url, f"Release the lease on {t['table_id']}", "release lease")
    catalog = doc.get("catalog") or {}
    catalog_html = (
        "".join(f"<div><b>{e(str(k))}</b>: {e(str(v))}</div>" for k, v in catalog.items())
        if catalog
        else '<span class="muted">unknown</span>'
    )
    facts = f"""<dl class="facts">
<dt>state</dt><dd id="table-state">{state_badge(t["state"])}</dd><dt>cadence</dt><dd>{e(t["cadence"])}</dd>
<dt>database</dt><dd>{e(t["database"])}.{e(t["table_name"])}</dd>
<dt>newest applied change</dt><dd>{e(t["last_applied_at"] or "never")} ({human_seconds(t["freshness_seconds"])} ago)</dd>
<dt>waiting</dt><dd>{t["pending"] + t["failed"] + t["processing"]} files, {fmt_bytes(t["pending_bytes"])}</dd>
<dt>lease</dt><dd id="lease">{e(lease["holder"] or "free")}{f" until {e(lease['expires_at'])}" if lease["holder"] else ""} {release}</dd>
<dt>target</dt><dd><code>{e(doc["config"]["target_uri"])}</code></dd><dt>catalog</dt><dd id="catalog">{catalog_html}</dd></dl>"""
    return f"""<section class="panel"><h2 id="table-id">{e(t["table_id"])}</h2>{facts}
{f'<p class="err">{e(t["last_error"])}</p>' if t["last_error"] and t["state"] == "failing" else ""}</section>
<section class="panel"><h2>Quarantined files</h2>{_quarantined(doc, ctx)}</section>
<section class="panel"><h2>Commits</h2>{_commits(doc, ctx)}</section>
<section class="panel"><h2>Runs</h2>{_runs(doc, ctx)}</section>
<section class="panel"><h2>Files</h2>{_files(doc)}</section>
<section class="panel"><h2>Schema</h2>{_schema(doc)}</section>"""
