"""What the ops API should answer for a generated metadata DB, computed in Python from what
:mod:`tributary.ops.synth` generated (never from the API's SQL)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from tributary.ops import synth

BUCKETS = [(None, 900), (900, 3600), (3600, 21600), (21600, 86400), (86400, None)]


def states(exp: synth.Expected) -> dict[str, int]:
    counts = Counter(exp.states.values())
    return {s: counts.get(s, 0) for s in ("inactive", "blocked", "failing", "backlog", "ok")}


def freshness(exp: synth.Expected, now: datetime) -> list[int]:
    """Tables per freshness bucket (active tables only), then the never-applied ones."""
    out = [0] * (len(BUCKETS) + 1)
    for tid, applied in exp.last_applied.items():
        if exp.states[tid] == "inactive":
            continue
        if applied is None:
            out[-1] += 1
            continue
        age = (now - applied).total_seconds()
        for i, (low, high) in enumerate(BUCKETS):
            if (low is None or age >= low) and (high is None or age < high):
                out[i] += 1
    return out


def stalest(exp: synth.Expected, n: int, *, inactive: bool = False) -> list[str]:
    active = [t for t in exp.last_applied if inactive or exp.states[t] != "inactive"]
    far_past = datetime.min.replace(tzinfo=next(iter(d for d in exp.last_applied.values() if d)).tzinfo)
    return sorted(active, key=lambda t: (exp.last_applied[t] is not None, exp.last_applied[t] or far_past, t))[:n]


def last_cycle(exp: synth.Expected, cadence: str) -> tuple[str, float]:
    run, (start, end) = max(exp.cycles[cadence].items(), key=lambda kv: kv[1][0])
    return run, (end - start).total_seconds()


def hour_label(iso: str) -> str:
    return iso[:10] + " " + iso[11:13]


def check_series(doc: dict[str, Any], exp: synth.Expected) -> None:
    """Throughput and failures per hour match what was generated, hour by hour."""
    assert len(doc["throughput"]) == 24 and len(doc["failures"]) == 24
    for h in doc["throughput"]:
        want = exp.rows_by_hour.get(hour_label(h["hour"]), [0, 0, 0])
        assert [h["inserted"], h["updated"], h["deleted"]] == want, h
    for h in doc["failures"]:
        assert h["failed_runs"] == exp.failed_by_hour.get(hour_label(h["hour"]), 0), h
    assert sum(sum(v) for v in exp.rows_by_hour.values()) > 0 and sum(exp.failed_by_hour.values()) > 0


def hour_start(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(minute=0, second=0, microsecond=0)


def window(now: datetime) -> list[datetime]:
    current = now.replace(minute=0, second=0, microsecond=0)
    return [current - timedelta(hours=23 - i) for i in range(24)]
