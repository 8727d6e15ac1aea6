"""The alert outbox against SQLite and PostgreSQL: enqueue, grouping, drain, backoff, outage."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tributary.alerts import messages, outbox
from tributary.metadata.db import session_scope
from tributary.metadata.models import AlertOutboxRow


def _rows() -> list[AlertOutboxRow]:
    with session_scope() as s:
        rows = list(s.scalars(select(AlertOutboxRow).order_by(AlertOutboxRow.alert_id)))
        s.expunge_all()
        return rows


def _table_alert(table: str = "sales.orders", run: str = "run1") -> messages.Alert:
    return messages.table_failure(
        table_id=table,
        error=ValueError("bad row"),
        files=["s3://b/f1.parquet"],
        dag_id="taxi",
        dag_run_id=run,
        task_id="process_batch",
        try_number=1,
        log_url="http://airflow/log",
    )


def _enqueue(alert: messages.Alert, topic: str | None = "arn:aws:sns:us-east-1:1:t") -> None:
    with session_scope() as s:
        outbox.enqueue(s, topic_arn=topic, subject=alert.subject, message=alert.message, dedupe_key=alert.dedupe_key)


def test_enqueue_is_part_of_the_callers_transaction(migrated_db: str) -> None:
    alert = _table_alert()
    with pytest.raises(RuntimeError), session_scope() as s:
        outbox.enqueue(s, topic_arn=None, subject=alert.subject, message=alert.message, dedupe_key=alert.dedupe_key)
        raise RuntimeError("the failure record rolls back")
    assert _rows() == []
    _enqueue(alert)
    assert len(_rows()) == 1


def test_identical_alerts_are_grouped_within_the_window(migrated_db: str) -> None:
    _enqueue(_table_alert())
    _enqueue(_table_alert())
    _enqueue(_table_alert(run="run2"))
    rows = _rows()
    assert [r.occurrences for r in rows] == [2, 1]
    assert rows[0].message["occurrences"] == 2
    # Outside the window a new row is added.
    with session_scope() as s:
        s.execute(update(AlertOutboxRow).values(created_at=datetime.now(UTC) - timedelta(hours=2)))
    _enqueue(_table_alert())
    assert len(_rows()) == 3


def test_subject_is_bounded_and_single_line() -> None:
    alert = messages.table_failure(table_id="s." + "x" * 200, error="e\nmore", dag_id="d\u00e9\nx")
    assert len(alert.subject) <= 100
    assert "\n" not in alert.subject and alert.subject.isascii()


def test_drain_delivers_and_retries_with_backoff(migrated_db: str) -> None:
    _enqueue(_table_alert("a.one"))
    _enqueue(_table_alert("a.two"))
    delivered: list[tuple[str | None, str, dict[str, Any]]] = []
    outage = True

    def publish(topic: str | None, subject: str, message: dict[str, Any]) -> None:
        if outage:
            raise ConnectionError("SNS is down")
        delivered.append((topic, subject, message))

    result = outbox.drain(publish, rng=random.Random(1))
    assert result.as_dict() == {"sent": 0, "failed": 2, "dead": 0, "pending": 2}
    rows = _rows()
    assert all(r.attempts == 1 and "SNS is down" in (r.last_error or "") for r in rows)
    # Not due yet: a second drain leaves them alone.
    assert outbox.drain(publish).failed == 0
    outage = False
    with session_scope() as s:
        s.execute(update(AlertOutboxRow).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    result = outbox.drain(publish)
    assert result.sent == 2 and result.pending == 0
    assert sorted(m["tables"][0] for _, _, m in delivered) == ["a.one", "a.two"]
    assert all(r.status == "sent" and r.sent_at for r in _rows())
    # A delivered alert is not sent twice.
    assert outbox.drain(publish).sent == 0


def test_gives_up_after_max_attempts_and_without_topic(migrated_db: str) -> None:
    _enqueue(_table_alert(), topic=None)

    def publish(*_: Any) -> None:  # pragma: no cover - never reached without a topic
        raise AssertionError

    result = outbox.drain(publish, max_attempts=1)
    assert result.dead == 1
    assert "no SNS topic" in (_rows()[0].last_error or "")


def test_backoff_grows_exponentially_with_jitter() -> None:
    rng = random.Random(7)
    values = [outbox.backoff_seconds(n, rng=rng) for n in range(1, 12)]
    assert all(5 <= v <= 900 for v in values)
    assert max(outbox.backoff_seconds(1, rng=random.Random(i)) for i in range(20)) <= 5
    assert max(outbox.backoff_seconds(6, rng=random.Random(i)) for i in range(50)) > 40
