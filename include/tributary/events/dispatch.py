"""From landed objects to DAG runs: register the files, find the flows, trigger each DAG once.

The ``dag_run_id`` is derived from the set of object identities (bucket, key, version or
sequencer) a flow is triggered for, so a duplicate delivery hits the same id and Airflow answers
409 instead of starting a second run. Coalescing: when the DAG already has a *queued* run, that
run has not read its pending files yet and will process the files just registered, so no new run
is triggered; a burst therefore makes a handful of runs, and no file waits for a run that never
comes (a running run may have read its files already, so it does not count).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tributary.cdc.files import FileKind, classify
from tributary.config.models import Flow
from tributary.config.validation import ConfigSet
from tributary.errors import AirflowApiError
from tributary.events.airflow_api import AirflowClient
from tributary.events.matching import flows_for_object
from tributary.events.parsing import ObjectEvent
from tributary.files.registry import LandedFile, Registration, RegistrationStatus, register
from tributary.metadata.models import FileStatus

log = logging.getLogger(__name__)

CONF_MAX_FILES = 200
NEEDS_RUN = (FileStatus.PENDING, FileStatus.FAILED)


@dataclass
class FlowDispatch:
    flow_id: str
    dag_id: str
    dag_run_id: str
    files: list[str]
    tables: list[str]
    outcome: str = ""
    """triggered | exists (duplicate event) | coalesced (into a queued run) | nothing_new | failed"""
    run: str | None = None
    error: str | None = None


@dataclass
class DispatchReport:
    registered: int = 0
    duplicates: int = 0
    unmatched: int = 0
    flows: list[FlowDispatch] = field(default_factory=list)

    @property
    def failed(self) -> list[FlowDispatch]:
        return [f for f in self.flows if f.outcome == "failed"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "registered": self.registered,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
            "flows": [
                {k: v for k, v in asdict(f).items() if k != "files"} | {"files": len(f.files)} for f in self.flows
            ],
        }


def run_id_for(prefix: str, flow_id: str, identities: Iterable[Sequence[str]]) -> str:
    digest = hashlib.sha256()
    digest.update(flow_id.encode())
    for ident in sorted("\x1f".join(i) for i in identities):
        digest.update(b"\x1e" + ident.encode())
    return f"{prefix}__{digest.hexdigest()[:32]}"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def landed_files(events: Sequence[ObjectEvent], s3: Any = None) -> list[LandedFile]:
    """The files to register. Objects whose tracker identity includes size and mtime (full-load
    files, which a reload rewrites, and non-DMS names) get them from a HEAD, so the event and a
    later sweep listing register the same row. ``s3``: the S3 client to HEAD with (Airflow passes
    its connection's); without one, boto3's under the runtime's role (the Lambda invoker)."""
    out: list[LandedFile] = []
    for event in events:
        size, mtime_ns = event.size, None
        kind = classify(event.key.rsplit("/", 1)[-1])
        if kind is None or kind[0] is FileKind.LOAD:
            if s3 is None:
                import boto3

                from tributary.settings import get_settings

                settings = get_settings()
                s3 = boto3.client("s3", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint_url)
            try:
                head = s3.head_object(Bucket=event.bucket, Key=event.key)
                size = int(head["ContentLength"])
                mtime_ns = int(head["LastModified"].timestamp()) * 1_000_000_000
            except Exception as exc:  # gone again, or no permission: register what the event says
                log.warning("HEAD %s failed (%s); registering with the event's size only", event.uri, exc)
        out.append(LandedFile(event.uri, size, mtime_ns, _parse_time(event.event_time)))
    return out


def register_events(
    config: ConfigSet, events: Sequence[ObjectEvent], *, s3: Any = None
) -> tuple[list[Registration], set[str]]:
    """Register the objects; also return the URIs that still need a run (new, or pending/failed)."""
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow

    with session_scope() as session:
        regs = register(session, landed_files(events, s3), config.tables.values())
        needs = {r.uri for r in regs if r.status == "registered"}
        dup_uris = [r.uri for r in regs if r.status == "duplicate" and r.table_id]
        if dup_uris:
            rows = session.execute(
                select(CdcFileRow.uri).where(CdcFileRow.uri.in_(dup_uris), CdcFileRow.status.in_(NEEDS_RUN))
            )
            needs.update(uri for (uri,) in rows)
    return regs, needs


def trigger_flow(
    client: AirflowClient, flow: Flow, dag_run_id: str, conf: dict[str, Any], *, coalesce: bool = True
) -> tuple[str, str]:
    """(outcome, run id) — triggered, exists or coalesced. Raises AirflowApiError."""
    dag_id = flow.effective_dag_id
    if coalesce:
        queued = client.has_queued_run(dag_id)
        if queued:
            log.info("%s: files join queued run %s", dag_id, queued)
            return "coalesced", queued
    result = client.trigger_dag_run(dag_id, dag_run_id, conf)
    return ("triggered" if result.created else "exists"), dag_run_id


def dispatch(
    events: Sequence[ObjectEvent],
    client: AirflowClient,
    config: ConfigSet,
    *,
    coalesce: bool = True,
    source: str = "tributary-invoker",
) -> DispatchReport:
    """Register the objects, then trigger every matching flow once (errors per flow, not raised)."""
    regs, needs = register_events(config, events)
    report = DispatchReport(
        registered=sum(r.status == "registered" for r in regs),
        duplicates=sum(r.status == "duplicate" for r in regs),
        unmatched=sum(r.status == RegistrationStatus.UNMATCHED for r in regs),
    )
    table_of = {r.uri: r.table_id for r in regs}
    by_flow: dict[str, tuple[Flow, list[ObjectEvent]]] = {}
    for event in events:
        for flow in flows_for_object(config.flows.values(), event.bucket, event.key):
            by_flow.setdefault(flow.flow_id, (flow, []))[1].append(event)
    for flow_id, (flow, flow_events) in sorted(by_flow.items()):
        files = [e.uri for e in flow_events if e.uri in needs or table_of.get(e.uri) is None]
        tables = sorted({t for e in flow_events if (t := table_of.get(e.uri))})
        run_id = run_id_for("tributary_event", flow_id, [e.identity for e in flow_events])
        item = FlowDispatch(flow_id, flow.effective_dag_id, run_id, files, tables)
        report.flows.append(item)
        if not files:
            item.outcome = "nothing_new"  # duplicates of files already processed
            continue
        conf = {
            "source": source,
            "files": files[:CONF_MAX_FILES],
            "file_count": len(files),
            "tables": tables,
            "events": [e.source for e in flow_events[:1]],
        }
        try:
            item.outcome, item.run = trigger_flow(client, flow, run_id, conf, coalesce=coalesce)
        except AirflowApiError as exc:
            item.outcome, item.error = "failed", str(exc)
            log.error("%s: could not trigger %s: %s", flow_id, flow.effective_dag_id, exc)
    return report
