"""The pages' look, close to Airflow 3's UI (Chakra UI: neutral greys, blue accent, Airflow's state
colours), in light and dark. The page runs in Airflow's iframe on the same origin, so the script
follows the parent's colour mode (``<html class="dark">`` set by Airflow's theme switch, saved in
``localStorage.theme``) and the system preference otherwise; ``?theme=dark`` forces one."""

from __future__ import annotations

STYLE = """
:root{--bg:#ffffff;--panel:#ffffff;--fg:#18181b;--muted:#71717a;--line:#e4e4e7;--head:#f4f4f5;
--c-accent:#3b82f6;--c-ok:#16a34a;--c-warn:#d97706;--c-fail:#dc2626;--c-insert:#22c55e;--c-update:#3b82f6;
--c-delete:#ef4444;--link:#2563eb}
html[data-theme=dark]{--bg:#09090b;--panel:#18181b;--fg:#fafafa;--muted:#a1a1aa;--line:#3f3f46;--head:#27272a;
--c-accent:#60a5fa;--c-ok:#4ade80;--c-warn:#fbbf24;--c-fail:#f87171;--c-insert:#4ade80;--c-update:#60a5fa;
--c-delete:#f87171;--link:#93c5fd}
*{box-sizing:border-box} body{font-family:Inter,ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:0;padding:1rem 1.2rem;background:var(--bg);color:var(--fg);font-size:14px}
a{color:var(--link);text-decoration:none} a:hover{text-decoration:underline}
header{display:flex;align-items:center;gap:1.2rem;margin-bottom:.8rem} h1{font-size:1.25rem;margin:0}
h2{font-size:1rem;margin:0 0 .4rem} h3{font-size:.9rem;margin:.8rem 0 .3rem}
nav{display:flex;gap:.3rem} .tab{padding:.3rem .8rem;border-radius:6px;color:var(--fg)}
.tab.on{background:var(--head);font-weight:600} .who{margin-left:auto}
.badge{border:1px solid var(--line);border-radius:4px;padding:0 .3rem}
.muted{color:var(--muted)} .panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;
padding:.8rem 1rem;margin-bottom:1rem;overflow-x:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:0 1rem}
.cards{display:flex;gap:.8rem;flex-wrap:wrap;margin-bottom:1rem}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.6rem 1rem;min-width:120px;
display:flex;flex-direction:column;gap:.2rem;color:var(--fg)} .card .n{font-size:1.4rem}
table{border-collapse:collapse;width:100%;font-size:.85rem} th,td{border-bottom:1px solid var(--line);
padding:.35rem .5rem;text-align:left;vertical-align:top} th{background:var(--head);font-weight:600}
th a{color:var(--fg)} td.n{text-align:right}
.state{border-radius:999px;padding:.05rem .5rem;font-size:.78rem;font-weight:600;border:1px solid currentColor}
.s-ok{color:var(--c-ok)} .s-backlog{color:var(--c-warn)} .s-failing,.s-blocked{color:var(--c-fail)}
.s-inactive{color:var(--muted)} .err{color:var(--c-fail);max-width:40rem;word-break:break-word}
.chart{display:block;max-height:230px} .chart .axis{stroke:var(--line)} .chart .mark{stroke:var(--fg);stroke-width:2}
.chart text{fill:var(--muted);font-size:10px} .chart .val{fill:var(--fg)}
.legend{display:flex;gap:1rem;font-size:.8rem;color:var(--muted)} .key i{display:inline-block;width:.7rem;
height:.7rem;margin-right:.3rem;border-radius:2px}
form{display:flex;gap:.4rem;flex-wrap:wrap;align-items:center;margin-bottom:.6rem}
input,select,button{background:var(--panel);color:var(--fg);border:1px solid var(--line);border-radius:6px;
padding:.3rem .5rem;font:inherit} button{cursor:pointer} button:hover{background:var(--head)}
.pager{margin:.5rem 0;color:var(--muted)} .pager a{margin:0 .5rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0} dt{color:var(--muted)}
#flash{display:none;padding:.5rem .8rem;margin-bottom:.8rem;border-radius:6px;background:var(--head)}
"""

SCRIPT = """
(function(){
  function apply(){
    var dark;
    var forced = new URLSearchParams(location.search).get('theme');
    if (forced === 'dark' || forced === 'light') dark = forced === 'dark';
    if (dark === undefined) { try { var p = window.parent.document.documentElement;
      if (p !== document.documentElement && (p.classList.contains('dark') || p.classList.contains('light')))
        dark = p.classList.contains('dark'); } catch (err) {} }
    if (dark === undefined) { var s = null; try { s = localStorage.getItem('theme'); } catch (err) {}
      dark = s === 'dark' || s === 'light' ? s === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches; }
    document.documentElement.setAttribute('data-theme', dark ? 'dark' : 'light');
  }
  apply();
  try { new MutationObserver(apply).observe(window.parent.document.documentElement,
    {attributes: true, attributeFilter: ['class']}); } catch (err) {}
  document.addEventListener('click', async function(ev){
    var b = ev.target.closest('button.act'); if (!b) return;
    if (!confirm(b.dataset.label + '?')) return;
    var r = await fetch(b.dataset.url, {method: 'POST', credentials: 'same-origin',
      headers: {'X-Tributary-Action': '1'}});
    var body = await r.json().catch(function(){ return {detail: r.statusText}; });
    var flash = document.getElementById('flash');
    flash.textContent = (r.ok ? 'done: ' : 'refused: ') + (body.message || body.detail || r.status);
    flash.style.display = 'block';
    if (r.ok) setTimeout(function(){ location.reload(); }, 800);
  });
})();
"""
