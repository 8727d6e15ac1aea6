"""What the CLI and the maintenance DAG do with config: validate, plan/apply, export, snapshot."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from tributary.config.loader import load_files
from tributary.config.models import Flow
from tributary.config.plan import Plan, apply_plan, make_plan
from tributary.config.repository import db_rows_as_raw, read_config
from tributary.config.snapshot import Snapshot, write_snapshot
from tributary.config.validation import ConfigSet, validate_rows
from tributary.errors import ConfigError, ConfigValidationError
from tributary.metadata.db import require_migrated, session_scope
from tributary.settings import get_settings

log = logging.getLogger(__name__)


def validate_paths(paths: list[Path]) -> ConfigSet:
    """Load and validate YAML files; raise with every problem when there is any."""
    rows, problems = load_files(paths)
    config = validate_rows(rows)
    all_problems = sorted([*problems, *config.problems], key=lambda p: (p.file, p.line or 0, p.row))
    if all_problems:
        raise ConfigValidationError(all_problems)
    return config


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    batch_id: str | None
    snapshot: Snapshot | None


_GUARDED = {"flows": "flow", "templates": "template", "refresh_cadences": "cadence"}
"""Sections that an apply may empty only with ``allow_empty``."""


def _check_not_emptying(plan: Plan, config: ConfigSet, paths: list[Path]) -> None:
    """Refuse a plan that removes every row of a guarded section: an empty or wrong file list
    would otherwise delete every flow, template or cadence without a word."""
    left = {"flows": config.flows, "templates": config.templates, "refresh_cadences": config.cadences}
    emptied = [
        f"every {noun} ({plan.count_in(section, 'remove')})"
        for section, noun in _GUARDED.items()
        if not left[section] and plan.count_in(section, "remove")
    ]
    if emptied:
        where = ", ".join(map(str, paths)) or "-"
        raise ConfigError(
            f"{where}: config apply would remove {' and '.join(emptied)} and put none in their place; "
            "check the files you passed, or add --allow-empty to empty the config on purpose"
        )


def apply_paths(
    paths: list[Path], *, dry_run: bool = False, actor: str | None = None, allow_empty: bool = False
) -> ApplyResult:
    """Validate, plan and (unless ``dry_run``) apply in one transaction, then write the snapshot.

    A plan that empties the flows, templates or cadences needs ``allow_empty``."""
    config = validate_paths(paths)
    require_migrated()
    with session_scope() as session:
        plan = make_plan(session, config)
        if not (dry_run or allow_empty):
            _check_not_emptying(plan, config, paths)
        if dry_run or plan.is_empty:
            batch_id = None
        else:
            batch_id = apply_plan(session, config, plan, actor or get_settings().actor)
    snapshot = None if dry_run else refresh_snapshot()
    return ApplyResult(plan=plan, batch_id=batch_id, snapshot=snapshot)


def load_db_config() -> ConfigSet:
    require_migrated()
    with session_scope() as session:
        return read_config(session)


def refresh_snapshot(path: Path | None = None) -> Snapshot:
    """Rewrite the snapshot from the DB (valid rows; broken ones named with their reason)."""
    config = load_db_config()
    for problem in config.problems:
        log.warning("config row disabled: %s", problem)
    return write_snapshot(config, path or get_settings().snapshot_path)


def export_document() -> dict[str, Any]:
    """Config in the DB as one YAML-ready document that applies back with an empty plan."""
    require_migrated()
    with session_scope() as session:
        config = read_config(session)
        raw = db_rows_as_raw(session)
    doc: dict[str, list[dict[str, Any]]] = {
        "templates": [],
        "refresh_cadences": [],
        "raw_tables": [],
        "flows": [],
    }
    valid: dict[str, Mapping[str, BaseModel]] = {
        "templates": config.templates,
        "refresh_cadences": config.cadences,
        "raw_tables": config.tables,
        "flows": config.flows,
    }
    for row in raw:
        model = valid[row.section].get(row.label)
        if model is None:  # a broken row is exported as stored, so the problem stays visible
            doc[row.section].append(row.data)
            continue
        data = model.model_dump(mode="json", exclude_defaults=True)
        if isinstance(model, Flow):
            data["tasks"] = [t.model_dump(mode="json", exclude_defaults=True) for t in model.tasks]
        doc[row.section].append(data)
    return {k: v for k, v in doc.items() if v}


def export_yaml() -> str:
    header = "# Exported by `tributary config export`; apply with `tributary config apply`.\n"
    return header + yaml.safe_dump(export_document(), sort_keys=False, allow_unicode=True, width=110)
