"""The config snapshot: what DAG files read instead of the database.

Written atomically whenever config is applied or refreshed; a copy of the last snapshot that
read back cleanly is kept beside it, and readers fall back to it when the newest one is broken.
Reading is plain file I/O plus pydantic: no database or network while a DAG file is parsed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tributary.config.models import Flow, RawTable, RefreshCadence, Template
from tributary.config.validation import ConfigSet
from tributary.errors import SnapshotError

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


class LazyModels(Mapping[str, Any]):
    """Rows of one snapshot section, validated into models only when looked up.

    A worker that re-parses the DAG file for one task needs one flow, not 3,000 table models;
    the rows were validated when the snapshot was written, so deferring costs no safety.
    """

    def __init__(self, raw: dict[str, Any], model: type[BaseModel], path: Path | None) -> None:
        self._raw = raw
        self._model = model
        self._path = path
        self._cache: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = self._model.model_validate(self._raw[key])
            except ValidationError as exc:
                raise SnapshotError(f"{self._path}: damaged snapshot row {key!r}: {exc}") from exc
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def raw(self, key: str) -> Any:
        return self._raw[key]


@dataclass(frozen=True)
class Snapshot:
    templates: dict[str, Template]
    cadences: dict[str, RefreshCadence]
    tables: Mapping[str, RawTable]
    flows: dict[str, Flow]
    disabled: dict[str, dict[str, str]] = field(default_factory=dict)
    """section → row id → reason, for rows left out because they are broken."""
    raw_flows: dict[str, Any] = field(default_factory=dict)
    """Flow rows from the snapshot that did not validate here (one import error each)."""
    content_hash: str = ""
    generated_at: str = ""
    path: Path | None = None
    fallback_used: bool = False
    table_ids_by_cadence: dict[str, list[str]] = field(default_factory=dict)
    """Active table ids per refresh cadence, sorted (precomputed when written, for DAG docs)."""


def last_good_path(path: Path) -> Path:
    return path.with_name(path.stem + ".last-good" + path.suffix)


def snapshot_document(config: ConfigSet) -> dict[str, Any]:
    body = {
        "templates": {k: v.model_dump(mode="json") for k, v in sorted(config.templates.items())},
        "cadences": {k: v.model_dump(mode="json") for k, v in sorted(config.cadences.items())},
        "tables": {k: v.model_dump(mode="json") for k, v in sorted(config.tables.items())},
        "flows": {k: v.model_dump(mode="json") for k, v in sorted(config.flows.items())},
        "disabled": {s: config.disabled(s) for s in ("templates", "refresh_cadences", "raw_tables", "flows")},
        "table_ids_by_cadence": _table_ids_by_cadence(config.tables.values()),
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return {
        "format": FORMAT_VERSION,
        "generated_at": datetime.now(UTC).isoformat(),
        "content_hash": digest,
        **body,
    }


def _table_ids_by_cadence(tables: Iterable[RawTable]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table in tables:
        if table.active:
            out.setdefault(table.refresh_cadence, []).append(table.table_id)
    return {k: sorted(v) for k, v in sorted(out.items())}


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_snapshot(config: ConfigSet, path: Path) -> Snapshot:
    """Write the snapshot for ``config``; keep it as last-good once it reads back cleanly."""
    document = snapshot_document(config)
    text = json.dumps(document, indent=1, sort_keys=True)
    _atomic_write(path, text)
    snapshot = _parse(path, text)
    _atomic_write(last_good_path(path), text)
    return snapshot


def _flow_dag_id(flow_id: str, raw: Any) -> str | None:
    dag_id = raw.get("dag_id") if isinstance(raw, dict) else None
    return dag_id or f"tributary__{flow_id}"


def _parse(path: Path, text: str, only_dag_id: str | None = None) -> Snapshot:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{path}: not valid JSON ({exc}); run `tributary config snapshot` to rewrite it") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: unknown snapshot format; run `tributary config snapshot` to rewrite it")
    try:
        templates = {k: Template.model_validate(v) for k, v in doc["templates"].items()}
        cadences = {k: RefreshCadence.model_validate(v) for k, v in doc["cadences"].items()}
        tables = LazyModels(dict(doc["tables"]), RawTable, path)
    except (KeyError, AttributeError, TypeError, ValidationError) as exc:
        raise SnapshotError(f"{path}: damaged snapshot ({exc}); run `tributary config snapshot`") from exc
    by_cadence = doc.get("table_ids_by_cadence")
    if not isinstance(by_cadence, dict):  # written before the field existed
        by_cadence = _table_ids_by_cadence(tables.values())
    flows: dict[str, Flow] = {}
    raw_flows: dict[str, Any] = {}
    for key, value in (doc.get("flows") or {}).items():
        if only_dag_id is not None and _flow_dag_id(key, value) != only_dag_id:
            continue  # a worker builds only the DAG it runs
        try:
            flows[key] = Flow.model_validate(value)
        except ValidationError:
            raw_flows[key] = value  # one broken flow stays one problem for the DAG factory
    return Snapshot(
        templates=templates,
        cadences=cadences,
        tables=tables,
        flows=flows,
        disabled=doc.get("disabled") or {},
        raw_flows=raw_flows,
        content_hash=doc.get("content_hash", ""),
        generated_at=doc.get("generated_at", ""),
        path=path,
        table_ids_by_cadence=by_cadence,
    )


def read_snapshot(path: Path, *, only_dag_id: str | None = None) -> Snapshot:
    """Read the snapshot, falling back to the last good one (logged) when the newest is broken.
    ``only_dag_id`` keeps only the flow of that DAG (a worker re-parsing for one task)."""
    try:
        return _parse(path, path.read_text(encoding="utf-8"), only_dag_id)
    except (OSError, SnapshotError) as first:
        backup = last_good_path(path)
        if not backup.exists():
            if isinstance(first, OSError):
                raise SnapshotError(
                    f"{path}: no config snapshot yet; run `tributary config apply config/` first"
                ) from first
            raise
        log.warning("config snapshot %s is unusable (%s); using the last good one %s", path, first, backup)
        snap = _parse(backup, backup.read_text(encoding="utf-8"), only_dag_id)
        return Snapshot(**{**snap.__dict__, "fallback_used": True})
