"""Entry points of the DAG files: build the DAGs, or report the broken flows as one import error.

``build_dags`` never raises for a broken flow (unless strict): the other flows' DAGs load and
the broken ones are reported by the separate ``tributary_flow_errors.py`` DAG file through
:func:`raise_for_broken_flows`. Keeping that error in a file without DAGs matters: Airflow 3
marks every DAG of a file that has an import error as stale, so an error raised in the factory
file itself would stop every flow from being scheduled.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from tributary.config.snapshot import Snapshot, read_snapshot
from tributary.dagfactory.graph import Plan, plan_flows
from tributary.errors import DagFactoryError, SnapshotError
from tributary.settings import get_settings

log = logging.getLogger(__name__)


def _parsing_dag_id() -> str | None:
    try:
        from airflow.sdk import get_parsing_context
    except ImportError:  # pragma: no cover
        return None
    return get_parsing_context().dag_id


def load_plan(snapshot_path: Path | None = None, *, only_dag_id: str | None = None) -> tuple[Plan, Snapshot]:
    snapshot = read_snapshot(snapshot_path or get_settings().snapshot_path, only_dag_id=only_dag_id)
    if snapshot.fallback_used:
        log.warning("tributary.dagfactory: the newest config snapshot is broken; using the last good one")
    plan = plan_flows(
        snapshot.flows,
        snapshot.templates,
        snapshot.table_ids_by_cadence,
        raw_flows=snapshot.raw_flows,
        disabled=(snapshot.disabled or {}).get("flows") or {},
        only_dag_id=only_dag_id,
        table_counts=snapshot.table_counts_by_cadence,
    )
    return plan, snapshot


def build_dags(snapshot_path: Path | None = None, *, strict: bool | None = None) -> dict[str, Any]:
    """DAG objects by dag_id (only the one a worker runs, when Airflow says which)."""
    start = time.perf_counter()
    strict = get_settings().strict_dags if strict is None else strict
    only = _parsing_dag_id()
    try:
        plan, snapshot = load_plan(snapshot_path, only_dag_id=only)
    except SnapshotError as exc:
        if strict:
            raise
        log.error("tributary.dagfactory: no DAGs built: %s", exc)
        return {}
    if strict and plan.problems:
        raise DagFactoryError(_problem_text(plan))
    from tributary.dagfactory.builder import build_dag

    dags: dict[str, Any] = {}
    for spec in plan.dags:
        try:
            dags[spec.dag_id] = build_dag(spec)
        except Exception as exc:
            if strict:
                raise DagFactoryError(f"flow '{spec.flow_id}': the DAG cannot be built: {exc}") from exc
            log.exception("tributary.dagfactory: flow %s: the DAG cannot be built", spec.flow_id)
    log.info(
        "tributary.dagfactory: built %d DAG(s)%s, %d broken flow(s), snapshot %s, %.3fs",
        len(dags),
        f" (only {only})" if only else "",
        len(plan.problems),
        snapshot.content_hash[:12],
        time.perf_counter() - start,
    )
    return dags


def _problem_text(plan: Plan) -> str:
    lines = [f"{len(plan.problems)} Tributary flow(s) cannot become DAGs (the other flows load normally):"]
    lines += [f"  - {p}" for p in plan.problems]
    lines.append("Fix the flow rows and run `tributary config apply` (or refresh the snapshot).")
    return "\n".join(lines)


def raise_for_broken_flows(snapshot_path: Path | None = None) -> None:
    """Raise one error naming every broken flow and field; nothing when all flows are fine."""
    try:
        plan, _ = load_plan(snapshot_path)
    except SnapshotError as exc:
        raise DagFactoryError(f"Tributary DAGs cannot be built: {exc}") from None
    if plan.problems:
        raise DagFactoryError(_problem_text(plan))
