"""The alert outbox: alerts are written with the failure they report and delivered later.

``enqueue`` adds a row in the caller's session (same transaction as the failure record, no
commit). ``drain`` delivers due rows through a publisher, retrying with exponential backoff and
jitter, so an SNS outage delays alerts but never loses them. An alert whose ``dedupe_key``
matches a row created within the grouping window (pending or already sent) bumps that row's
``occurrences`` instead of adding a row, so a retried task does not alert on every attempt.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tributary.alerts.messages import clean_subject
from tributary.metadata.models import AlertOutboxRow, AlertStatus
from tributary.settings import get_settings

log = logging.getLogger(__name__)

Publisher = Callable[[str | None, str, dict[str, Any]], None]
"""``publish(topic_arn, subject, message)``; raises on failure."""

CLAIM_SECONDS = 300
"""A drain claims a due row by pushing ``next_attempt_at`` this far ahead while it publishes."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def enqueue(
    session: Session,
    *,
    topic_arn: str | None,
    subject: str,
    message: dict[str, Any],
    dedupe_key: str,
    window_seconds: int | None = None,
) -> AlertOutboxRow:
    """Add an alert to the outbox in ``session`` (no commit), or group it with an identical one.

    ``topic_arn`` None means the default topic from settings at delivery time.
    """
    window = get_settings().alert_group_window_seconds if window_seconds is None else window_seconds
    now = _now()
    key = dedupe_key[:256]
    subject = clean_subject(subject)
    if window > 0:
        existing = session.scalars(
            select(AlertOutboxRow)
            .where(
                AlertOutboxRow.dedupe_key == key,
                AlertOutboxRow.created_at >= now - timedelta(seconds=window),
                AlertOutboxRow.status != AlertStatus.DEAD,
            )
            .order_by(AlertOutboxRow.created_at.desc())
            .limit(1)
        ).first()
        if existing is not None:
            existing.occurrences = (existing.occurrences or 1) + 1
            if existing.status == AlertStatus.PENDING:
                # Deliver the newest details (e.g. the latest attempt and error) when it goes out.
                existing.message = {**message, "occurrences": existing.occurrences}
                existing.subject = subject
            log.info("alert grouped with outbox row %s (%d occurrences)", existing.alert_id, existing.occurrences)
            return existing
    row = AlertOutboxRow(
        created_at=now,
        topic_arn=topic_arn,
        subject=subject,
        message={**message, "occurrences": 1},
        dedupe_key=key,
        occurrences=1,
        status=AlertStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    log.info("alert queued in outbox row %s: %s", row.alert_id, subject)
    return row


def backoff_seconds(attempts: int, *, base: float = 5.0, cap: float = 900.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [base, min(cap, base * 2**attempts)]."""
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    return (rng or random).uniform(base, max(base, ceiling))


@dataclass(frozen=True)
class DrainResult:
    sent: int
    failed: int
    dead: int
    pending: int

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "dead": self.dead, "pending": self.pending}


def _claim(session_factory: Callable[[], Any], limit: int) -> list[AlertOutboxRow]:
    """Take up to ``limit`` due rows, pushing their next attempt ahead so other drains skip them."""
    now = _now()
    with session_factory() as session:
        rows = list(
            session.scalars(
                select(AlertOutboxRow)
                .where(AlertOutboxRow.status == AlertStatus.PENDING, AlertOutboxRow.next_attempt_at <= now)
                .order_by(AlertOutboxRow.next_attempt_at, AlertOutboxRow.alert_id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
        session.expunge_all()
        return rows


def drain(
    publish: Publisher | None = None,
    *,
    limit: int = 100,
    max_attempts: int | None = None,
    db_url: str | None = None,
    rng: random.Random | None = None,
) -> DrainResult:
    """Deliver due alerts; failures are rescheduled with backoff, never dropped before ``max_attempts``."""
    from tributary.metadata.db import session_scope

    settings = get_settings()
    publish = publish or _default_publisher()
    max_attempts = max_attempts or settings.alert_max_attempts
    sent = failed = dead = 0
    for row in _claim(lambda: session_scope(db_url), limit):
        topic = row.topic_arn or settings.alert_topic_arn
        error: str | None = None
        if not topic:
            error = "no SNS topic: the flow names none and TRIBUTARY_ALERT_TOPIC_ARN is not set"
        else:
            try:
                publish(topic, row.subject, dict(row.message))
            except Exception as exc:  # any delivery failure is retried later
                error = f"{type(exc).__name__}: {exc}"[:2000]
        now = _now()
        with session_scope(db_url) as session:
            values: dict[str, Any]
            if error is None:
                values = {"status": AlertStatus.SENT, "sent_at": now, "attempts": row.attempts + 1, "last_error": None}
                sent += 1
            else:
                attempts = row.attempts + 1
                give_up = attempts >= max_attempts
                values = {
                    "status": AlertStatus.DEAD if give_up else AlertStatus.PENDING,
                    "attempts": attempts,
                    "last_error": error,
                    "next_attempt_at": now + timedelta(seconds=backoff_seconds(attempts, rng=rng)),
                }
                if give_up:
                    dead += 1
                    log.error("alert %s gave up after %d attempts: %s", row.alert_id, attempts, error)
                else:
                    failed += 1
                    log.warning(
                        "alert %s not delivered (attempt %d), retrying later: %s", row.alert_id, attempts, error
                    )
            session.execute(update(AlertOutboxRow).where(AlertOutboxRow.alert_id == row.alert_id).values(**values))
    with session_scope(db_url) as session:
        pending = len(
            list(session.scalars(select(AlertOutboxRow.alert_id).where(AlertOutboxRow.status == AlertStatus.PENDING)))
        )
    result = DrainResult(sent=sent, failed=failed, dead=dead, pending=pending)
    log.info("alert drain: %s", result.as_dict())
    return result


def _default_publisher() -> Publisher:
    from tributary.alerts.publisher import sns_publisher

    return sns_publisher()
