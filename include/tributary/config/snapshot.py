"""The config snapshot: what DAG files read instead of the database.

Written atomically whenever config is applied or refreshed; a copy of the last snapshot that
read back cleanly is kept beside it, and readers fall back to it when the newest one is broken.
Reading is plain file I/O plus pydantic: no database or network while a DAG file is parsed.

Each template, cadence and flow row carries a digest of its JSON as written: a row that reads
back unchanged skips the slow semantic checks (cron parsing, JSON Schema meta-validation) it
passed when written; a hand-edited or damaged row is validated in full.

The raw table rows live in a content-addressed side file (``snapshot.tables-<sha>.json``) that
the snapshot names with its hash: parsing DAGs needs flows, templates and a summary of the
tables per cadence (a count and the first ids), never the rows, so a DAG file's parse time does
not grow with the number of tables. The side file is read only when ``Snapshot.tables`` is used.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ValidationError

from tributary.config.models import VERIFIED_ROW, Flow, RawTable, RefreshCadence, Template
from tributary.errors import SnapshotError

if TYPE_CHECKING:
    from tributary.config.validation import ConfigSet

log = logging.getLogger(__name__)
FORMAT_VERSION = 2
"""2: table rows in a side file; 1 (still read): table rows inline."""
READABLE_FORMATS = (1, 2)
TABLE_IDS_KEPT = 50
"""Table ids per cadence kept in the snapshot itself (for DAG docs); the count is kept too."""
VERIFIED_SECTIONS = ("templates", "cadences", "flows")
"""Sections whose rows carry a digest (see :func:`row_digest`)."""
TABLES_FILE_GRACE_SECONDS = 600
"""An unnamed table rows side file is removed only once it is this old."""


class LazyModels(Mapping[str, Any]):
    """Rows of one snapshot section, validated into models only when looked up.

    A worker that re-parses the DAG file for one task needs one flow, not 3,000 table models;
    the rows were validated when the snapshot was written, so deferring costs no safety.
    """

    def __init__(
        self,
        raw: dict[str, Any] | Callable[[], dict[str, Any]],
        model: type[BaseModel],
        path: Path | None,
        *,
        count: int | None = None,
    ) -> None:
        self._raw: dict[str, Any] | None = raw if isinstance(raw, dict) else None
        self._load = None if isinstance(raw, dict) else raw
        self._model = model
        self._path = path
        self._count = count
        self._cache: dict[str, Any] = {}

    def _rows(self) -> dict[str, Any]:
        if self._raw is None:
            assert self._load is not None
            self._raw = self._load()
        return self._raw

    def __getitem__(self, key: str) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = self._model.model_validate(self._rows()[key])
            except ValidationError as exc:
                raise SnapshotError(f"{self._path}: damaged snapshot row {key!r}: {exc}") from exc
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows())

    def __len__(self) -> int:
        if self._raw is None and self._count is not None:
            return self._count  # known without reading the side file
        return len(self._rows())

    def raw(self, key: str) -> Any:
        return self._rows()[key]


class Snapshot(NamedTuple):
    """One read snapshot. A NamedTuple rather than a frozen dataclass: the DAG file imports this
    module on every parse, and creating a 13-field dataclass costs ~1 ms there (~0.07 ms here)."""

    templates: dict[str, Template]
    cadences: dict[str, RefreshCadence]
    tables: Mapping[str, RawTable]
    flows: dict[str, Flow]
    disabled: dict[str, dict[str, str]]
    """section → row id → reason, for rows left out because they are broken."""
    raw_flows: dict[str, Any]
    """Flow rows from the snapshot that did not validate here (one import error each)."""
    content_hash: str
    generated_at: str
    path: Path | None
    table_ids_by_cadence: dict[str, list[str]]
    """The first :data:`TABLE_IDS_KEPT` active table ids per refresh cadence, sorted (for DAG docs)."""
    table_counts_by_cadence: dict[str, int]
    """How many active tables each refresh cadence has."""
    fallback_used: bool = False


def last_good_path(path: Path) -> Path:
    return path.with_name(path.stem + ".last-good" + path.suffix)


def tables_file_path(path: Path, sha256: str) -> Path:
    """The side file holding the table rows of the snapshot at ``path`` (content-addressed)."""
    return path.with_name(f"{path.stem}.tables-{sha256[:16]}{path.suffix}")


def snapshot_document(config: ConfigSet) -> dict[str, Any]:
    """The whole snapshot as one document (table rows inline); :func:`write_snapshot` splits it."""
    by_cadence = _table_ids_by_cadence(config.tables.values())
    body: dict[str, Any] = {
        "templates": {k: v.model_dump(mode="json") for k, v in sorted(config.templates.items())},
        "cadences": {k: v.model_dump(mode="json") for k, v in sorted(config.cadences.items())},
        "tables": {k: v.model_dump(mode="json") for k, v in sorted(config.tables.items())},
        "flows": {k: v.model_dump(mode="json") for k, v in sorted(config.flows.items())},
        "disabled": {s: config.disabled(s) for s in ("templates", "refresh_cadences", "raw_tables", "flows")},
        "table_ids_by_cadence": by_cadence,
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return {
        "format": FORMAT_VERSION,
        "generated_at": datetime.now(UTC).isoformat(),
        "content_hash": digest,
        **body,
        "row_digests": {s: {k: row_digest(v) for k, v in body[s].items()} for s in VERIFIED_SECTIONS},
    }


def row_digest(row: Any) -> str:
    """Digest of one row's JSON (canonical form), recorded when the row was written validated."""
    return hashlib.sha256(json.dumps(row, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


def _context(digests: Any, section: str, key: str, row: Any) -> dict[str, bool] | None:
    """The validation context for a row: verified when its digest matches the one written."""
    written = digests.get(section) if isinstance(digests, dict) else None
    if isinstance(written, dict) and written.get(key) is not None and written[key] == row_digest(row):
        return {VERIFIED_ROW: True}
    return None


def _split(document: dict[str, Any], path: Path) -> tuple[dict[str, Any], str, Path]:
    """(the snapshot without table rows, the side file's text, the side file's path)."""
    tables = document["tables"]
    tables_text = json.dumps({"format": FORMAT_VERSION, "tables": tables}, indent=1, sort_keys=True)
    sha = hashlib.sha256(tables_text.encode()).hexdigest()
    by_cadence = document["table_ids_by_cadence"]
    main = {
        **document,
        "tables": {"file": tables_file_path(path, sha).name, "sha256": sha, "count": len(tables)},
        "table_ids_by_cadence": {k: v[:TABLE_IDS_KEPT] for k, v in by_cadence.items()},
        "table_counts_by_cadence": {k: len(v) for k, v in by_cadence.items()},
    }
    return main, tables_text, tables_file_path(path, sha)


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


def _tables_file_named(path: Path) -> str | None:
    """The side file named by the snapshot at ``path``, if it reads as one."""
    try:
        ref = json.loads(path.read_text(encoding="utf-8")).get("tables", {})
        name = ref.get("file") if isinstance(ref, dict) else None
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def write_snapshot(config: ConfigSet, path: Path) -> Snapshot:
    """Write the snapshot for ``config``; keep it as last-good once it reads back cleanly.

    Order: the table rows' side file, then the snapshot naming it, then the last-good copy. Side
    files named by neither the new snapshot nor the previous snapshot or last-good are removed
    once older than :data:`TABLES_FILE_GRACE_SECONDS` (a reader holding the previous snapshot can
    still read its tables; a concurrent writer's new side file is not removed under it)."""
    main, tables_text, tables_path = _split(snapshot_document(config), path)
    keep = {tables_path.name} | {n for p in (path, last_good_path(path)) if (n := _tables_file_named(p))}
    if not tables_path.exists() or tables_path.read_text(encoding="utf-8") != tables_text:
        _atomic_write(tables_path, tables_text)
    text = json.dumps(main, indent=1, sort_keys=True)
    _atomic_write(path, text)
    snapshot = _parse(path, text)
    len(list(snapshot.tables))  # the side file reads back (hash and format checked)
    _atomic_write(last_good_path(path), text)
    _prune_tables_files(path, keep)
    return snapshot


def _prune_tables_files(path: Path, keep: set[str]) -> None:
    """Remove side files no snapshot names any more, once they are old enough that no concurrent
    writer can be about to name them."""
    cutoff = time.time() - TABLES_FILE_GRACE_SECONDS
    for old in path.parent.glob(f"{path.stem}.tables-*{path.suffix}"):
        try:
            if old.name not in keep and old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)
        except OSError:  # removed by another writer meanwhile
            continue


def _flow_dag_id(flow_id: str, raw: Any) -> str | None:
    dag_id = raw.get("dag_id") if isinstance(raw, dict) else None
    return dag_id or f"tributary__{flow_id}"


def _decode(text: str) -> Any:
    """``json.loads`` with the cyclic GC paused: the decoded tree is acyclic and all of it stays
    alive, so collections triggered by its thousands of containers would find nothing, and in a
    process holding Airflow's ~200k objects one of them can be a full collection costing more
    than the whole parse. The new objects are collected normally afterwards."""
    if not gc.isenabled():
        return json.loads(text)
    gc.disable()
    try:
        return json.loads(text)
    finally:
        gc.enable()


def _parse(path: Path, text: str, only_dag_id: str | None = None) -> Snapshot:
    try:
        doc = _decode(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{path}: not valid JSON ({exc}); run `tributary config snapshot` to rewrite it") from exc
    if not isinstance(doc, dict) or doc.get("format") not in READABLE_FORMATS:
        raise SnapshotError(f"{path}: unknown snapshot format; run `tributary config snapshot` to rewrite it")
    try:
        digests = doc.get("row_digests")
        templates = {
            k: Template.model_validate(v, context=_context(digests, "templates", k, v))
            for k, v in doc["templates"].items()
        }
        cadences = {
            k: RefreshCadence.model_validate(v, context=_context(digests, "cadences", k, v))
            for k, v in doc["cadences"].items()
        }
        tables = _tables(doc, path)
    except (KeyError, AttributeError, TypeError, ValidationError) as exc:
        raise SnapshotError(f"{path}: damaged snapshot ({exc}); run `tributary config snapshot`") from exc
    by_cadence = doc.get("table_ids_by_cadence")
    if not isinstance(by_cadence, dict):  # written before the field existed
        by_cadence = _table_ids_by_cadence(tables.values())
    counts = doc.get("table_counts_by_cadence")
    if not isinstance(counts, dict):  # format 1: the lists are whole
        counts = {k: len(v) for k, v in by_cadence.items()}
    flows: dict[str, Flow] = {}
    raw_flows: dict[str, Any] = {}
    for key, value in (doc.get("flows") or {}).items():
        if only_dag_id is not None and _flow_dag_id(key, value) != only_dag_id:
            continue  # a worker builds only the DAG it runs
        try:
            flows[key] = Flow.model_validate(value, context=_context(digests, "flows", key, value))
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
        table_counts_by_cadence=counts,
    )


def _tables(doc: dict[str, Any], path: Path) -> LazyModels:
    ref = doc["tables"]
    if doc["format"] == 1:
        return LazyModels(dict(ref), RawTable, path)
    name, sha, count = ref["file"], ref["sha256"], ref["count"]
    if not isinstance(name, str) or "/" in name or "\\" in name or not isinstance(count, int):
        raise TypeError(f"bad table rows reference {ref!r}")
    side = path.with_name(name)

    def load() -> dict[str, Any]:
        hint = "run `tributary config snapshot`"
        try:
            text = side.read_text(encoding="utf-8")
        except OSError as exc:
            raise SnapshotError(f"{path}: its table rows file {side} cannot be read ({exc}); {hint}") from exc
        if hashlib.sha256(text.encode()).hexdigest() != sha:
            raise SnapshotError(f"{side}: does not match the snapshot {path} (its hash differs); {hint}")
        try:
            rows = json.loads(text)["tables"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotError(f"{side}: damaged table rows file ({exc}); {hint}") from exc
        if not isinstance(rows, dict):
            raise SnapshotError(f"{side}: damaged table rows file; {hint}")
        return rows

    return LazyModels(load, RawTable, side, count=count)


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
        return snap._replace(fallback_used=True)
