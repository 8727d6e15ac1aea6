"""The ops page as HTML: server-rendered, every value escaped, actions posted by a small script
to relative URLs (the page lives under the api-server's /tributary prefix)."""

from __future__ import annotations

from html import escape
from typing import Any

from tributary.ops.state import TableState

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.2rem;color:#1f2933}
h1{font-size:1.3rem;margin:0 0 .6rem} h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
table{border-collapse:collapse;width:100%;font-size:.85rem} th,td{border-bottom:1px solid #e4e7eb;
padding:.3rem .45rem;text-align:left;vertical-align:top} th{background:#f5f7fa;position:sticky;top:0}
.ok{color:#1e7e34}.backlog{color:#8a6d00}.blocked,.failing,.invalid{color:#b42318;font-weight:600}
.muted{color:#7b8794} button{font-size:.75rem;margin:.1rem} code{font-size:.8rem}
#flash{padding:.4rem;margin:.4rem 0;background:#eef6ff;display:none}
"""

SCRIPT = """
async function act(url, label){
  if(!confirm(label + '?')) return;
  const r = await fetch(url, {method:'POST', headers:{'X-Tributary-Action':'1'}, credentials:'same-origin'});
  const flash = document.getElementById('flash');
  const body = await r.json().catch(() => ({detail: r.statusText}));
  flash.textContent = (r.ok ? 'done: ' : 'refused: ') + (body.message || body.detail || r.status);
  flash.style.display = 'block';
  if(r.ok) setTimeout(() => location.reload(), 600);
}
"""


def _fmt_lag(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _table_row(t: TableState) -> str:
    e = escape
    actions = []
    for f in t.quarantined_files:
        fid = int(f["file_id"])
        actions.append(
            f'<div><code>{e(str(f["file"]))}</code> <span class="muted">{e(str(f["reason"] or ""))[:200]}</span>'
            f"<br><button onclick=\"act('api/files/{fid}/retry', 'Retry file {fid}')\">retry</button>"
            f"<button onclick=\"act('api/files/{fid}/skip', 'Skip file {fid}')\">skip</button></div>"
        )
    lease = e(t.lease_holder or "-")
    if t.lease_holder:
        lease += (
            f"<br><button onclick=\"act('api/locks/{e(t.table_id)}/release', "
            f"'Release the lease on {e(t.table_id)}')\">release lease</button>"
        )
    # a quarantined file's reason is shown with the file; the run error would repeat it
    error = e(t.disabled_reason or ("" if t.quarantined_files else t.last_error) or "")
    return (
        f'<tr data-table="{e(t.table_id)}"><td>{e(t.table_id)}</td><td class="{e(t.state.split()[0])}">'
        f"{e(t.state)}</td><td>{e(t.last_commit or '-')}</td><td>{t.pending + t.failed}</td>"
        f"<td>{t.quarantined}</td><td>{t.processed}</td><td>{_fmt_lag(t.lag_seconds)}</td><td>{lease}</td>"
        f"<td>{error[:300]}{''.join(actions)}</td><td>{e(t.cadence)}</td>{_catalog_cell(t)}</tr>"
    )


def _catalog_cell(t: TableState) -> str:
    """The table's Glue Data Catalog entry: its name, state and the commit it holds."""
    if t.catalog is None:
        return "<td>-</td>"
    e = escape
    css = "ok" if t.catalog == "in step" else ("failing" if t.catalog in ("failed", "behind") else "muted")
    synced = f'<br><span class="muted">at {e(t.catalog_synced)}</span>' if t.catalog_synced else ""
    error = f'<br><span class="muted">{e(t.catalog_error[:300])}</span>' if t.catalog_error else ""
    return f'<td class="catalog"><code>{e(t.catalog_name or "")}</code> <span class="{css}">{e(t.catalog)}</span>{synced}{error}</td>'


def render(
    tables: list[TableState],
    flows: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    runs_by_dag: dict[str, list[dict[str, Any]]],
    user: str,
) -> str:
    e = escape
    states: dict[str, int] = {}
    for t in tables:
        states[t.state] = states.get(t.state, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    table_rows = "".join(_table_row(t) for t in tables)
    flow_rows = ""
    for f in flows:
        runs = runs_by_dag.get(f.get("dag_id") or "", [])
        last = "".join(f'<div>{e(r["state"])} <span class="muted">{e(r["run_id"])}</span></div>' for r in runs[:3])
        triggers = [f["schedule"]] if f.get("schedule") else []
        triggers += [f"s3://{t['bucket']}/{t['prefix']}*{t['suffix']}" for t in f.get("event_triggers", [])]
        if f.get("sqs_queue_url"):
            triggers.append(f"sqs {f['sqs_queue_url']}")
        if f.get("manual"):
            triggers.append("manual")
        tasks = ", ".join(f"{t['task_id']} ({t['template_id']})" for t in f.get("tasks", []))
        status = "invalid: " + f["invalid"] if f.get("invalid") else ("enabled" if f.get("enabled") else "paused")
        flow_rows += (
            f"<tr><td>{e(f['flow_id'])}</td><td>{e(f.get('dag_id') or '-')}</td><td>{e(status)}</td>"
            f"<td>{e(', '.join(triggers))}</td><td>{e(tasks)}</td><td>{last or '-'}</td></tr>"
        )
    alert_rows = "".join(
        f"<tr><td>{e(a['created_at'] or '')}</td><td>{e(a['subject'])}</td><td>{e(a['status'])}</td>"
        f"<td>{a['occurrences']}</td><td>{e(', '.join(a['tables']))}</td></tr>"
        for a in alerts
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Tributary tables</title>
<style>{STYLE}</style><script>{SCRIPT}</script></head><body>
<h1>Tributary — tables and flows</h1>
<div class="muted">signed in as {e(user)} · {len(tables)} tables: {e(summary)}</div><div id="flash"></div>
<h2>Tables</h2>
<table id="tables"><thead><tr><th>table</th><th>state</th><th>last commit</th><th>pending</th>
<th>quarantined</th><th>processed</th><th>lag</th><th>lease holder</th><th>last error / quarantined files</th>
<th>cadence</th><th>Glue catalog</th></tr></thead><tbody>{table_rows}</tbody></table>
<h2>Flows</h2>
<table id="flows"><thead><tr><th>flow</th><th>DAG</th><th>status</th><th>triggers</th><th>tasks</th>
<th>last runs</th></tr></thead><tbody>{flow_rows}</tbody></table>
<h2>Recent alerts</h2>
<table id="alerts"><thead><tr><th>at</th><th>subject</th><th>delivery</th><th>occurrences</th><th>tables</th></tr>
</thead><tbody>{alert_rows or '<tr><td colspan="5" class="muted">none</td></tr>'}</tbody></table>
</body></html>"""
