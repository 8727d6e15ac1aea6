"""Subjects and messages of failure alerts (tables, tasks, flows), and their dedupe keys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SUBJECT_MAX = 100
ERROR_MAX = 2000
FILES_MAX = 50
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")


def clean_subject(subject: str) -> str:
    """An SNS-safe subject: printable ASCII on one line, at most 100 characters."""
    text = _UNPRINTABLE.sub(" ", subject).strip() or "Tributary alert"
    text = re.sub(r"\s{2,}", " ", text)
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3] + "..."


def summarise_error(error: BaseException | str | None) -> str:
    """One readable line or paragraph for the alert, bounded in size."""
    if error is None:
        return "unknown error"
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    text = text.strip() or "unknown error"
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 3] + "..."


@dataclass(frozen=True)
class Alert:
    """What goes into the outbox: subject, JSON message and the key identical alerts share."""

    subject: str
    message: dict[str, Any]
    dedupe_key: str
    topic_arn: str | None = None
    tables: list[str] = field(default_factory=list)


def _files(files: list[str] | None) -> tuple[list[str], int]:
    files = list(files or [])
    return files[:FILES_MAX], len(files)


def table_failure(
    *,
    table_id: str,
    error: BaseException | str | None,
    files: list[str] | None = None,
    flow_id: str | None = None,
    dag_id: str | None = None,
    dag_run_id: str | None = None,
    task_id: str | None = None,
    try_number: int | None = None,
    log_url: str | None = None,
    topic_arn: str | None = None,
) -> Alert:
    """Alert for one table that failed inside a batch (the processor enqueues it)."""
    shown, count = _files(files)
    summary = summarise_error(error)
    message = {
        "kind": "table_failure",
        "flow": flow_id or dag_id,
        "dag_id": dag_id,
        "dag_run_id": dag_run_id,
        "task_id": task_id,
        "tables": [table_id],
        "files": shown,
        "file_count": count,
        "error": summary,
        "attempt": try_number,
        "log_url": log_url,
    }
    subject = clean_subject(f"Tributary: table {table_id} failed in {dag_id or flow_id or 'a run'}")
    key = f"table|{dag_id}|{dag_run_id}|{task_id}|{table_id}"
    return Alert(subject=subject, message=message, dedupe_key=key, topic_arn=topic_arn, tables=[table_id])


def task_failure(
    *,
    dag_id: str,
    task_id: str,
    dag_run_id: str | None,
    error: BaseException | str | None,
    try_number: int | None = None,
    max_tries: int | None = None,
    log_url: str | None = None,
    flow_id: str | None = None,
    tables: list[str] | None = None,
    files: list[str] | None = None,
    map_index: int | None = None,
    topic_arn: str | None = None,
) -> Alert:
    """Alert for a failed task instance (a mapped one names its map index)."""
    shown, count = _files(files)
    label = task_id if map_index is None or map_index < 0 else f"{task_id}[{map_index}]"
    message = {
        "kind": "task_failure",
        "flow": flow_id or dag_id,
        "dag_id": dag_id,
        "dag_run_id": dag_run_id,
        "task_id": label,
        "tables": list(tables or []),
        "files": shown,
        "file_count": count,
        "error": summarise_error(error),
        "attempt": try_number,
        "max_tries": max_tries,
        "log_url": log_url,
    }
    subject = clean_subject(f"Tributary: task {label} failed in {dag_id}")
    key = f"task|{dag_id}|{dag_run_id}|{label}"
    return Alert(subject=subject, message=message, dedupe_key=key, topic_arn=topic_arn, tables=list(tables or []))


def flow_failure(
    *,
    dag_id: str,
    dag_run_id: str | None,
    failed_tasks: list[str],
    reason: str | None = None,
    log_url: str | None = None,
    flow_id: str | None = None,
    topic_arn: str | None = None,
) -> Alert:
    """Alert for a DAG run that ended failed."""
    message = {
        "kind": "flow_failure",
        "flow": flow_id or dag_id,
        "dag_id": dag_id,
        "dag_run_id": dag_run_id,
        "task_id": None,
        "failed_tasks": failed_tasks,
        "tables": [],
        "files": [],
        "error": summarise_error(reason or f"failed tasks: {', '.join(failed_tasks) or 'none recorded'}"),
        "attempt": None,
        "log_url": log_url,
    }
    subject = clean_subject(f"Tributary: flow {dag_id} run failed")
    return Alert(subject=subject, message=message, dedupe_key=f"flow|{dag_id}|{dag_run_id}", topic_arn=topic_arn)


def render_text(subject: str, message: dict[str, Any]) -> str:
    """The SNS message body: a JSON document people can read and machines can parse."""
    import json

    return json.dumps({"subject": subject, **message}, indent=2, sort_keys=False, default=str)
