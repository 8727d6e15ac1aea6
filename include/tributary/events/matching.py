"""Which flows an object starts: the enabled flows whose event triggers (bucket, prefix, suffix)
match it; and which flows cover a table (through their ``cdc_to_hudi`` cadence)."""

from __future__ import annotations

from collections.abc import Iterable

from tributary.config.models import EventTrigger, Flow, TemplateKind
from tributary.config.validation import ConfigSet


def trigger_matches(trigger: EventTrigger, bucket: str, key: str) -> bool:
    return trigger.bucket == bucket and key.startswith(trigger.prefix) and key.endswith(trigger.suffix)


def flows_for_object(flows: Iterable[Flow], bucket: str, key: str) -> list[Flow]:
    """Enabled flows with an event trigger matching the object, in flow id order."""
    hits = [f for f in flows if f.enabled and any(trigger_matches(t, bucket, key) for t in f.event_triggers)]
    return sorted(hits, key=lambda f: f.flow_id)


def flow_tables(config: ConfigSet, flow: Flow) -> list[str]:
    """Active tables the flow's ``cdc_to_hudi`` tasks process (their cadence's tables)."""
    cadences = {
        str(task.params.get("cadence"))
        for task in flow.tasks
        if (tpl := config.templates.get(task.template_id)) is not None
        and tpl.kind is TemplateKind.CDC_TO_HUDI
        and task.params.get("cadence")
    }
    return sorted(t for t, table in config.tables.items() if table.active and table.refresh_cadence in cadences)


def flows_for_tables(config: ConfigSet, table_ids: Iterable[str]) -> dict[str, set[str]]:
    """flow_id → the given tables it covers (enabled flows only)."""
    wanted = set(table_ids)
    out: dict[str, set[str]] = {}
    for flow in config.flows.values():
        if not flow.enabled:
            continue
        covered = wanted.intersection(flow_tables(config, flow))
        if covered:
            out[flow.flow_id] = covered
    return out
