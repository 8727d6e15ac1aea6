"""The Airflow-native path: a flow with ``sqs_queue_url`` is scheduled on an ``Asset`` whose
``AssetWatcher`` (``MessageQueueTrigger``, scheme ``sqs``) starts a run when S3 notifies the
queue; the DAG factory builds that (``dagfactory.builder._schedule``). The run must register the
files before ``cdc_to_hudi`` reads its pending files:

- :func:`register_flow_files` — a ``python`` template entry point (``tributary.events.watcher:
  register_flow_files`` with params ``{flow_id: ...}``) that lists the flow's tables' staging
  prefixes and registers what is new (works without access to the messages, and also catches
  files whose message another run consumed);
- :func:`register_from_asset_events` — registers exactly the objects in the triggering asset
  events' SQS message batches, for an operator that has the Airflow context.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tributary.events.parsing import ObjectEvent, dedupe, parse_message

if TYPE_CHECKING:
    from tributary.config.validation import ConfigSet

log = logging.getLogger(__name__)


def register_flow_files(flow_id: str) -> dict[str, Any]:
    """Register every unregistered DMS file under the staging prefixes of the flow's tables."""
    from tributary.config.service import load_db_config
    from tributary.events.matching import flow_tables

    config = load_db_config()
    tables = flow_tables(config, config.flows[flow_id])
    counts = register_staged(config, tables)
    log.info("flow %s: %s", flow_id, counts)
    return {"flow_id": flow_id, **counts}


def register_staged(config: ConfigSet, table_ids: list[str]) -> dict[str, int]:
    """List the tables' staging prefixes and register the files not tracked yet (idempotent)."""
    from tributary.files.registry import register, sweep_table_files
    from tributary.metadata.db import session_scope

    tables = [config.tables[t] for t in table_ids]
    counts = {"tables": len(tables), "listed": 0, "registered": 0}
    with session_scope() as session:
        for table in tables:
            landed = sweep_table_files(table)
            counts["listed"] += len(landed)
            counts["registered"] += sum(r.status == "registered" for r in register(session, landed, [table]))
    return counts


def events_from_context(context: Mapping[str, Any]) -> list[ObjectEvent]:
    """Objects announced in the run's triggering asset events (SQS message batches)."""
    out: list[ObjectEvent] = []
    triggering = context.get("triggering_asset_events") or {}
    for asset_events in triggering.values():
        for asset_event in asset_events:
            extra = getattr(asset_event, "extra", None) or {}
            payload = extra.get("payload") or {}
            for message in payload.get("message_batch") or []:
                try:
                    out.extend(parse_message(message.get("Body", ""), "sqs"))
                except Exception as exc:  # one bad message must not stop the run
                    log.warning("asset event message not understood: %s", exc)
    return dedupe(out)


def register_from_asset_events(context: Mapping[str, Any], config: ConfigSet | None = None) -> dict[str, int]:
    """Register the objects of the triggering asset events (for CdcPlanOperator.execute)."""
    from tributary.aws_hooks import s3_hook
    from tributary.config.service import load_db_config
    from tributary.events.dispatch import register_events

    events = events_from_context(context)
    if not events:
        return {"events": 0, "registered": 0}
    # HEADs under the flow's AWS connection, as the rest of the task
    regs, _ = register_events(config or load_db_config(), events, s3=s3_hook().get_conn())
    return {"events": len(events), "registered": sum(r.status == "registered" for r in regs)}
