"""The triggered DAG invoker: a Lambda handler for S3 events in any shape.

``handler(event, context)`` parses the event, registers the files, triggers the matching flows
(see :mod:`tributary.events.dispatch`) and, for SQS batches, answers with
``{"batchItemFailures": [...]}`` naming only the messages whose files could not be handed to a
run, so one bad record does not redeliver the whole batch (enable ``ReportBatchItemFailures`` on
the event source mapping). For other shapes a failure raises, so Lambda retries the event.
Every failure to trigger queues an SNS alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from tributary.config.validation import ConfigSet
from tributary.errors import EventError, InvokerFailedError, TributaryError
from tributary.events.airflow_api import AirflowClient
from tributary.events.alerting import alert_invoker_failure
from tributary.events.dispatch import DispatchReport, dispatch
from tributary.events.parsing import ObjectEvent, dedupe, parse_event, parse_message, sqs_records

log = logging.getLogger(__name__)

ClientFactory = Callable[[], AirflowClient]


def default_client() -> AirflowClient:
    from tributary.settings import get_settings

    if get_settings().mwaa_environment:
        from tributary.events.mwaa import MwaaClient

        return MwaaClient.from_settings()
    from tributary.events.credentials import client_from_settings

    return client_from_settings()


def _config() -> ConfigSet:
    from tributary.config.service import load_db_config

    return load_db_config()


def _alert_failures(report: DispatchReport) -> None:
    for item in report.failed:
        alert_invoker_failure(
            what="trigger", error=item.error or "failed", flow_id=item.flow_id, dag_id=item.dag_id, files=item.files
        )


def handle(
    event: object,
    *,
    client_factory: ClientFactory = default_client,
    config_loader: Callable[[], ConfigSet] = _config,
) -> dict[str, Any]:
    """The handler's logic with its collaborators injectable (tests, the bench). ``event`` is the
    JSON document as Lambda passes it: any shape, checked while it is parsed."""
    records = sqs_records(event)
    if records is None:
        events = parse_event(event)
        if not events:
            return {"registered": 0, "flows": []}
        try:
            report = dispatch(events, client_factory(), config_loader())
        except TributaryError as exc:
            alert_invoker_failure(what="invoke", error=str(exc), files=[e.uri for e in events])
            raise
        _alert_failures(report)
        if report.failed:
            raise InvokerFailedError("could not trigger " + "; ".join(f"{f.dag_id}: {f.error}" for f in report.failed))
        return report.as_dict()
    return _handle_sqs(list(records), client_factory, config_loader)


def _handle_sqs(
    records: list[Mapping[str, Any]], client_factory: ClientFactory, config_loader: Callable[[], ConfigSet]
) -> dict[str, Any]:
    failures: list[str] = []
    by_record: dict[str, list[ObjectEvent]] = {}
    for record in records:
        message_id = str(record.get("messageId", ""))
        try:
            by_record[message_id] = parse_message(record.get("body", ""), "sqs")
        except EventError as exc:
            log.error("SQS message %s: %s", message_id, exc)
            failures.append(message_id)  # redelivered, then dead-lettered by the queue's redrive policy
        except Exception:  # a parser bug on one message must not fail the others: report it alone
            log.exception("SQS message %s: cannot be parsed", message_id)
            failures.append(message_id)
    events = dedupe(e for evs in by_record.values() for e in evs)
    report = DispatchReport()
    if events:
        try:
            report = dispatch(events, client_factory(), config_loader())
        except TributaryError as exc:  # the DB or the credentials: nothing was handed over
            log.error("invoker failed for %d message(s): %s", len(by_record), exc)
            alert_invoker_failure(what="invoke", error=str(exc), files=[e.uri for e in events])
            return {"batchItemFailures": [{"itemIdentifier": m} for m in [*failures, *by_record]]}
        _alert_failures(report)
        failed_uris = {uri for f in report.failed for uri in f.files}
        for message_id, evs in by_record.items():
            if any(e.uri in failed_uris for e in evs):
                failures.append(message_id)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures], "tributary": report.as_dict()}


def handler(event: object, context: Any = None) -> dict[str, Any]:
    """AWS Lambda entry point: ``tributary.events.invoker.handler``."""
    _configure_logging()
    return handle(event)


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    root.setLevel(logging.INFO)
