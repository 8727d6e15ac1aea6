"""Hudi's archived-timeline files: v6 log blocks of ``HoodieArchivedMetaEntry``, v8 LSM layers.

Byte layouts as Hudi 0.15.0 and 1.0.2 write them (checked against Spark-written archives):

* v6: ``.hoodie/archived/.commits_.archive.<n>_1-0-1`` is a Hudi log file; each block is
  ``#HUDI#``, the block length (long, without magic and itself), log format version 1 (int),
  block type 3 = Avro data (int), header ``{SCHEMA: writer schema}``, content length (long),
  content (block version 3, record count, then per record its length and Avro binary), an empty
  footer and the block length including magic (long). Java resolves the records against its
  ``HoodieArchivedMetaEntry`` (every field has a default), so the writer schema names only the
  fields written.
* v8: ``.hoodie/timeline/history/<min>_<max>_0.parquet`` holds one ``HoodieLSMTimelineInstant``
  row per instant (its completed file as ``metadata``, its requested file as ``plan``), listed by
  ``manifest_<v>`` (JSON) whose version ``_version_`` names.
"""

from __future__ import annotations

import copy
import io
import json
import re
import struct
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.errors import HudiError
from tributary.hudi import avro, avro_schemas
from tributary.hudi.timeline import COMPLETED, REQUESTED, Instant, Timeline, avro_commit

LOG_MAGIC = b"#HUDI#"
LOG_FORMAT_VERSION = 1
AVRO_DATA_BLOCK = 3
DATA_BLOCK_VERSION = 3
HEADER_SCHEMA = 2
_LOG_NAME = re.compile(r"^\.commits_\.archive\.(\d+)_1-0-1$")
_META_FIELD = {
    "commit": ("hoodieCommitMetadata", avro_schemas.COMMIT_METADATA),
    "replacecommit": ("hoodieReplaceCommitMetadata", avro_schemas.REPLACE_COMMIT_METADATA),
    "clean": ("hoodieCleanMetadata", avro_schemas.CLEAN_METADATA),
    "rollback": ("hoodieRollbackMetadata", avro_schemas.ROLLBACK_METADATA),
}


def _opt(name: str, schema: Any) -> dict[str, Any]:
    return {"name": name, "type": ["null", schema], "default": None}


def _dedupe_names(schema: Any, seen: set[str]) -> Any:
    """``schema`` with every named type after its first definition replaced by its name."""
    if isinstance(schema, list):
        return [_dedupe_names(s, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") in ("record", "enum", "fixed"):
        name = schema["name"] if "." in schema["name"] else f"org.apache.hudi.avro.model.{schema['name']}"
        if name in seen:
            return name
        seen.add(name)
    out = dict(schema)
    if "fields" in out:
        out["fields"] = [{**f, "type": _dedupe_names(f["type"], seen)} for f in out["fields"]]
    for key in ("items", "values"):
        if key in out:
            out[key] = _dedupe_names(out[key], seen)
    if isinstance(out.get("type"), (dict, list)):
        out["type"] = _dedupe_names(out["type"], seen)
    return out


_S = {"type": "string", "avro.java.string": "String"}
ARCHIVED_META_ENTRY: dict[str, Any] = _dedupe_names(
    {
        "type": "record",
        "name": "HoodieArchivedMetaEntry",
        "namespace": "org.apache.hudi.avro.model",
        "fields": [
            *(_opt(field, copy.deepcopy(schema)) for field, schema in _META_FIELD.values()),
            _opt("commitTime", _S),
            _opt("actionType", _S),
            {"name": "version", "type": ["int", "null"], "default": 1},
            _opt("actionState", _S),
            _opt("stateTransitionTime", _S),
        ],
    },
    set(),
)
"""The written subset of Hudi's ``HoodieArchivedMetaEntry`` (a named type defined once)."""

LSM_INSTANT = pa.schema(
    [
        pa.field("instantTime", pa.string()),
        pa.field("completionTime", pa.string()),
        pa.field("action", pa.string()),
        pa.field("metadata", pa.binary()),
        pa.field("plan", pa.binary()),
        pa.field("version", pa.int32(), nullable=False),
    ]
)
LSM_AVRO_SCHEMA = {
    "type": "record",
    "name": "HoodieLSMTimelineInstant",
    "namespace": "org.apache.hudi.avro.model",
    "fields": [
        *(_opt(n, _S) for n in ("instantTime", "completionTime", "action")),
        _opt("metadata", "bytes"),
        _opt("plan", "bytes"),
        {"name": "version", "type": "int", "default": 1},
    ],
}


# --- version 6 ---------------------------------------------------------------------------------


def _entry(timeline: Timeline, inst: Instant) -> dict[str, Any]:
    field, _ = _META_FIELD[inst.action]
    meta = timeline.read_metadata(inst)
    if inst.action in ("commit", "replacecommit"):
        meta = avro_commit(meta, inst.action)
    return {field: meta, "commitTime": inst.timestamp, "actionType": inst.action, "actionState": COMPLETED}


def _metadata_bytes(entries: dict[int, str]) -> bytes:
    out = struct.pack(">i", len(entries))
    for key, value in entries.items():
        data = value.encode("utf-8")
        out += struct.pack(">ii", key, len(data)) + data
    return out


def log_block(records: list[dict[str, Any]]) -> bytes:
    """One Avro data block of ``HoodieArchivedMetaEntry`` records, as ``HoodieLogFormatWriter`` lays it out."""
    content = io.BytesIO()
    content.write(struct.pack(">ii", DATA_BLOCK_VERSION, len(records)))
    for rec in records:
        data = avro.encode_datum(ARCHIVED_META_ENTRY, rec)
        content.write(struct.pack(">i", len(data)) + data)
    body = content.getvalue()
    header = _metadata_bytes({HEADER_SCHEMA: json.dumps(ARCHIVED_META_ENTRY, separators=(",", ":"))})
    footer = _metadata_bytes({})
    length = 4 + 4 + len(header) + 8 + len(body) + len(footer) + 8
    block = struct.pack(">qii", length, LOG_FORMAT_VERSION, AVRO_DATA_BLOCK) + header
    block += struct.pack(">q", len(body)) + body + footer
    return LOG_MAGIC + block + struct.pack(">q", len(LOG_MAGIC) + len(block))


def append_log_block(timeline: Timeline, instants: list[Instant]) -> str:
    """Write the instants' entries as a new archive log file version; returns its path."""
    unsupported = [i for i in instants if i.action not in _META_FIELD]
    if unsupported:
        raise HudiError(f"cannot archive {unsupported[0].action} instant {unsupported[0].timestamp}")
    versions = [0]
    for entry in timeline.storage.list_files(timeline.archive_dir):
        m = _LOG_NAME.match(entry.path.rsplit("/", 1)[-1])
        if m:
            versions.append(int(m.group(1)))
    path = f"{timeline.archive_dir}/.commits_.archive.{max(versions) + 1}_1-0-1"
    timeline.storage.write_bytes(path, log_block([_entry(timeline, i) for i in instants]))
    return path


# --- version 8 ---------------------------------------------------------------------------------


def _plan_bytes(timeline: Timeline, inst: Instant) -> bytes | None:
    for f in timeline.files_of(inst.timestamp):
        if f.action == inst.action and f.state == REQUESTED:
            return timeline.storage.read_bytes(f"{timeline.dir}/{f.file_name}")
    return None


def write_lsm_layer(timeline: Timeline, instants: list[Instant]) -> str:
    """Write the instants as a layer-0 file of the LSM timeline and a manifest naming it."""
    storage = timeline.storage
    rows: dict[str, list[Any]] = {name: [] for name in LSM_INSTANT.names}
    for inst in instants:
        rows["instantTime"].append(inst.timestamp)
        rows["completionTime"].append(inst.completion)
        rows["action"].append(inst.action)
        rows["metadata"].append(storage.read_bytes(f"{timeline.dir}/{inst.file_name}"))
        rows["plan"].append(_plan_bytes(timeline, inst))
        rows["version"].append(1)
    table = pa.table(rows, schema=LSM_INSTANT)
    name = f"{instants[0].timestamp}_{instants[-1].timestamp}_0.parquet"
    path = f"{timeline.archive_dir}/{name}"
    with storage.open_output(path) as sink:
        pq.write_table(
            table.replace_schema_metadata(
                {"parquet.avro.schema": json.dumps(LSM_AVRO_SCHEMA), "writer.model.name": "avro"}
            ),
            sink,
            compression="snappy",
            store_schema=False,
        )
    version, files = _manifest(timeline)
    files = [f for f in files if f["fileName"] != name] + [{"fileName": name, "fileLen": storage.size(path)}]
    storage.write_text(f"{timeline.archive_dir}/manifest_{version + 1}", json.dumps({"files": files}, indent=2))
    storage.write_text(f"{timeline.archive_dir}/_version_", str(version + 1))
    return path


def _manifest(timeline: Timeline) -> tuple[int, list[dict[str, Any]]]:
    """(latest manifest version, its file entries); (0, []) before the first archival."""
    storage = timeline.storage
    if not storage.is_file(f"{timeline.archive_dir}/_version_"):
        return 0, []
    version = int(storage.read_text(f"{timeline.archive_dir}/_version_").strip())
    manifest = json.loads(storage.read_text(f"{timeline.archive_dir}/manifest_{version}"))
    return version, list(manifest.get("files") or [])
