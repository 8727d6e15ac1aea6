"""Plan and apply a config change: rows added, changed and removed, in one transaction, audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tributary.config.models import SECTIONS
from tributary.config.repository import ROW_CLASSES, canonical, current_canonical, to_db_values
from tributary.config.validation import ConfigSet
from tributary.errors import ConfigError
from tributary.metadata.models import CdcFileRow, ConfigChangeRow, FlowTaskRow


@dataclass(frozen=True)
class PlanEntry:
    section: str
    row_id: str
    action: str  # add | change | remove
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def changed_fields(self) -> list[str]:
        if not (self.before and self.after):
            return []
        keys = sorted(set(self.before) | set(self.after))
        return [k for k in keys if self.before.get(k) != self.after.get(k)]


@dataclass(frozen=True)
class Plan:
    entries: tuple[PlanEntry, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        return not self.entries

    def count(self, action: str) -> int:
        return sum(1 for e in self.entries if e.action == action)

    def count_in(self, section: str, action: str) -> int:
        return sum(1 for e in self.entries if e.section == section and e.action == action)


def _desired(config: ConfigSet) -> dict[tuple[str, str], BaseModel]:
    models: dict[tuple[str, str], BaseModel] = {}
    for section, rows in (
        ("templates", config.templates),
        ("refresh_cadences", config.cadences),
        ("raw_tables", config.tables),
        ("flows", config.flows),
    ):
        for key, model in rows.items():
            models[(section, key)] = model
    return models


def make_plan(session: Session, config: ConfigSet) -> Plan:
    """What applying ``config`` would do: the YAML is the whole truth, so rows absent from it go."""
    current = current_canonical(session)
    desired = _desired(config)
    order = {s: i for i, s in enumerate(SECTIONS)}
    entries: list[PlanEntry] = []
    for key in sorted(set(current) | set(desired), key=lambda k: (order[k[0]], k[1])):
        before = current.get(key)
        after = canonical(desired[key]) if key in desired else None
        if before is None:
            entries.append(PlanEntry(key[0], key[1], "add", None, after))
        elif after is None:
            entries.append(PlanEntry(key[0], key[1], "remove", before, None))
        elif before != after:
            entries.append(PlanEntry(key[0], key[1], "change", before, after))
    return Plan(tuple(entries))


def apply_plan(session: Session, config: ConfigSet, plan: Plan, actor: str) -> str:
    """Apply ``plan`` inside the caller's transaction; return the audit batch id."""
    desired = _desired(config)
    batch_id = uuid.uuid4().hex
    removals = [e for e in plan.entries if e.action == "remove"]
    # rows that refer to others go before the upserts; rows referred to go after them, so a
    # table may move to a new cadence in the same change that removes its old one
    for entry in (e for e in removals if e.section in ("flows", "raw_tables")):
        _remove(session, entry)
    for entry in sorted(
        (e for e in plan.entries if e.action != "remove"), key=lambda e: list(SECTIONS).index(e.section)
    ):
        model = desired[(entry.section, entry.row_id)]
        values, task_rows = to_db_values(entry.section, model)
        session.merge(ROW_CLASSES[entry.section](**values))
        if entry.section == "flows":
            session.flush()
            session.execute(delete(FlowTaskRow).where(FlowTaskRow.flow_id == entry.row_id))
            session.add_all(FlowTaskRow(**t) for t in task_rows)
    session.flush()
    for entry in (e for e in removals if e.section in ("refresh_cadences", "templates")):
        _remove(session, entry)
    for entry in plan.entries:
        session.add(
            ConfigChangeRow(
                batch_id=batch_id,
                actor=actor,
                entity=entry.section,
                entity_id=entry.row_id,
                action=entry.action,
                before=entry.before,
                after=entry.after,
            )
        )
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConfigError(f"the metadata DB refused the change (a constraint failed): {exc.orig}") from exc
    return batch_id


def _remove(session: Session, entry: PlanEntry) -> None:
    cls = ROW_CLASSES[entry.section]
    if entry.section == "raw_tables":
        tracked = session.scalar(select(CdcFileRow.file_id).where(CdcFileRow.table_id == entry.row_id).limit(1))
        if tracked is not None:
            raise ConfigError(
                f"raw_tables row '{entry.row_id}': cannot remove a table that has tracked CDC files; "
                "set `active: false` on it instead"
            )
    pk = inspect(cls).primary_key[0]
    session.execute(delete(cls).where(pk == entry.row_id))
