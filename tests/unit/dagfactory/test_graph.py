"""The plain task graph: stable order, problems naming flow and field, docs (no Airflow)."""

from __future__ import annotations

from typing import Any

import pytest

from tributary.config.models import Flow, Template
from tributary.dagfactory.graph import order_tasks, plan_flows
from tributary.errors import FlowPlanError

TEMPLATES = {
    "echo": Template(template_id="echo", kind="python", entry_point="tributary.templates:echo_params"),
    "cdc": Template(template_id="cdc", kind="cdc_to_hudi"),
}


def flow(**overrides: Any) -> Flow:
    data: dict[str, Any] = {
        "flow_id": "f",
        "manual": True,
        "tasks": [
            {"task_id": "c", "template_id": "echo", "upstream": ["a", "b"]},
            {"task_id": "b", "template_id": "echo"},
            {"task_id": "a", "template_id": "echo"},
        ],
    }
    data.update(overrides)
    return Flow.model_validate(data)


def test_order_is_topological_and_stable() -> None:
    assert order_tasks(flow()) == ["b", "a", "c"]
    assert order_tasks(flow()) == order_tasks(flow())


def test_cycles_and_unknown_upstream_name_the_field() -> None:
    cyclic = flow(
        tasks=[
            {"task_id": "a", "template_id": "echo", "upstream": ["b"]},
            {"task_id": "b", "template_id": "echo", "upstream": ["a"]},
        ]
    )
    with pytest.raises(FlowPlanError, match="cycle"):
        order_tasks(cyclic)
    with pytest.raises(FlowPlanError) as err:
        order_tasks(flow(tasks=[{"task_id": "a", "template_id": "echo", "upstream": ["zz"]}]))
    assert err.value.field == "tasks[0].upstream"


def test_plan_collects_problems_per_flow_and_keeps_the_rest() -> None:
    good = flow(
        flow_id="good",
        description="Good flow",
        owner="team",
        tags=["x"],
        tasks=[{"task_id": "apply", "template_id": "cdc", "params": {"cadence": "c1"}}],
    )
    unknown = flow(flow_id="bad", tasks=[{"task_id": "t", "template_id": "missing"}])
    raw = {
        "broken": {
            "flow_id": "broken",
            "manual": True,
            "max_active_runs": 0,
            "tasks": [{"task_id": "t", "template_id": "echo"}],
        }
    }
    plan = plan_flows(
        {"good": good, "bad": unknown},
        TEMPLATES,
        {"c1": ["s.t1", "s.t2"]},
        raw_flows=raw,
        disabled={"gone": "schedule: 'every tuesday' is not a valid cron expression"},
    )
    assert [d.dag_id for d in plan.dags] == ["tributary__good"]
    problems = {p.flow_id: p for p in plan.problems}
    assert problems["bad"].field == "tasks[0].template_id"
    assert problems["broken"].field == "max_active_runs"
    assert problems["gone"].field == "schedule"
    spec = plan.dags[0]
    assert spec.tags == ("tributary", "x") and spec.owner == "team"
    assert "`s.t1`" in spec.doc_md and "Good flow" in spec.doc_md and "team" in spec.doc_md


def test_only_dag_id_plans_one_flow_and_disabled_flows_are_skipped() -> None:
    flows = {"a": flow(flow_id="a"), "b": flow(flow_id="b"), "c": flow(flow_id="c", enabled=False)}
    assert [d.flow_id for d in plan_flows(flows, TEMPLATES, {}).dags] == ["a", "b"]
    assert [d.flow_id for d in plan_flows(flows, TEMPLATES, {}, only_dag_id="tributary__b").dags] == ["b"]
