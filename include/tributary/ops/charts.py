"""Charts as inline SVG drawn on the server: nothing is fetched by the browser, colours come from
the page's CSS variables (so they follow Airflow's light or dark theme), and every bar carries its
figures in ``data-*`` attributes and a ``<title>`` tooltip."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    name: str
    color: str  # a CSS variable name, e.g. "--c-insert"


def _fmt(value: float) -> str:
    if value >= 1e9:
        return f"{value / 1e9:.1f}G"
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:g}"


def bars(
    chart_id: str,
    title: str,
    labels: list[str],
    values: list[list[float]],
    series: list[Series],
    *,
    width: int = 560,
    height: int = 190,
    tick_every: int = 1,
    keys: list[str] | None = None,
) -> str:
    """Vertical bars, stacked when there are several series; ``values[i]`` holds bar i's stack."""
    left, bottom, top = 44, 26, 14
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([sum(v) for v in values] + [0]) or 1
    slot = plot_w / max(len(labels), 1)
    bar_w = max(2.0, slot * 0.72)
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" class="tick" text-anchor="end">{_fmt(peak)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" class="tick" text-anchor="end">0</text>',
    ]
    keys = keys or labels
    for i, (label, stack) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        y: float = top + plot_h
        figures = ", ".join(f"{s.name} {v:g}" for s, v in zip(series, stack, strict=True))
        parts.append(
            f'<g class="bar" data-key="{escape(keys[i])}" data-values="{",".join(f"{v:g}" for v in stack)}">'
            f"<title>{escape(label)}: {escape(figures)}</title>"
        )
        for s, v in zip(series, stack, strict=True):
            h = plot_h * v / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" style="fill:var({s.color})"/>'
            )
        if len(labels) <= 8:
            total = sum(stack)
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" class="val" text-anchor="middle">{_fmt(total)}</text>'
            )
        parts.append("</g>")
        if i % tick_every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" class="tick" text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts) + legend(series)


def legend(series: list[Series]) -> str:
    if len(series) < 2:
        return ""
    items = "".join(
        f'<span class="key"><i style="background:var({s.color})"></i>{escape(s.name)}</span>' for s in series
    )
    return f'<div class="legend">{items}</div>'


def duration_bars(chart_id: str, rows: list[tuple[str, float | None, float | None]], *, width: int = 560) -> str:
    """One horizontal bar per cadence: its last cycle's duration, with the interval as a mark;
    a bar past its mark (not keeping up) is drawn in the failure colour."""
    row_h, left = 26, 150
    height = row_h * max(len(rows), 1) + 10
    peak = max([max(d or 0, i or 0) for _, d, i in rows] + [1])
    scale = (width - left - 60) / peak
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-label="cadence duration against interval" '
        f'viewBox="0 0 {width} {height}" width="100%">'
    ]
    for n, (name, duration, interval) in enumerate(rows):
        y = 5 + n * row_h
        late = duration is not None and interval is not None and duration > interval
        color = "--c-fail" if late else "--c-ok"
        parts.append(
            f'<g class="cadence" data-cadence="{escape(name)}" data-duration="{duration if duration is not None else ""}" '
            f'data-interval="{interval if interval is not None else ""}" data-late="{str(late).lower()}">'
            f"<title>{escape(name)}: last cycle {_secs(duration)} for an interval of {_secs(interval)}</title>"
            f'<text x="{left - 6}" y="{y + 15}" class="tick" text-anchor="end">{escape(name)}</text>'
        )
        if duration is not None:
            parts.append(
                f'<rect x="{left}" y="{y + 4}" width="{max(duration * scale, 1):.1f}" height="14" '
                f'style="fill:var({color})"/>'
            )
        if interval is not None:
            ix = left + interval * scale
            parts.append(f'<line x1="{ix:.1f}" y1="{y}" x2="{ix:.1f}" y2="{y + 22}" class="mark"/>')
        parts.append(
            f'<text x="{width - 4}" y="{y + 15}" class="val" text-anchor="end">{_secs(duration)} / {_secs(interval)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.0f}m"
    if value < 172800:
        return f"{value / 3600:.1f}h"
    return f"{value / 86400:.1f}d"


def human_seconds(value: float | None) -> str:
    return _secs(value)
