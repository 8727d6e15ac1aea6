"""Object-created events in every shape users send, reduced to :class:`ObjectEvent`.

Shapes: S3 notifications delivered straight to Lambda (``{"Records": [{"s3": ...}]}``), wrapped
in SQS (``Records[].body``), in SNS (``Records[].Sns.Message``), in SNS then SQS (an SQS body
holding an SNS envelope), EventBridge ``Object Created`` events (direct or as an SQS body), and
the message batches Airflow's SQS trigger hands to an asset event. Keys are URL-decoded with
``unquote_plus`` (S3 encodes spaces as ``+``). ``s3:TestEvent`` messages and non-create events
are ignored. Nothing here touches the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from tributary.errors import EventError


@dataclass(frozen=True)
class ObjectEvent:
    """One object that landed."""

    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    event_time: str | None = None
    event_name: str = "ObjectCreated"
    source: str = "s3"
    """Shape it arrived in: s3, sqs, sns, sns+sqs, eventbridge, eventbridge+sqs."""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> tuple[str, str, str]:
        """(bucket, key, version or sequencer): equal for duplicate deliveries of one write."""
        version = self.version_id if self.version_id not in (None, "", "null") else None
        return (self.bucket, self.key, version or self.sequencer or self.etag or "")


def dedupe(events: Iterable[ObjectEvent]) -> list[ObjectEvent]:
    """Events in order with duplicate deliveries (same identity) dropped."""
    seen: set[tuple[str, str, str]] = set()
    out: list[ObjectEvent] = []
    for event in events:
        if event.identity not in seen:
            seen.add(event.identity)
            out.append(event)
    return out


def _loads(value: Any, where: str) -> Any:
    if isinstance(value, Mapping | list):
        return value
    if not isinstance(value, str | bytes):
        raise EventError(f"{where}: expected a JSON string, got {type(value).__name__}")
    try:
        return json.loads(value)
    except ValueError as exc:
        raise EventError(f"{where}: not JSON: {exc}") from None
    except RecursionError:
        raise EventError(f"{where}: JSON nested too deeply to be an event") from None


def _object(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` when it is a JSON object (absent: an empty one); a clear error for any other type."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise EventError(f"{where}: expected text, got {type(value).__name__}")


def _s3_record(record: Mapping[str, Any], source: str) -> ObjectEvent | None:
    name = str(record.get("eventName", ""))
    if not name.startswith("ObjectCreated"):
        return None
    s3 = _object(record.get("s3"), f"S3 record {name}: s3")
    obj = _object(s3.get("object"), f"S3 record {name}: s3.object")
    bucket = _text(_object(s3.get("bucket"), f"S3 record {name}: s3.bucket").get("name"), "s3.bucket.name")
    key = _text(obj.get("key"), f"S3 record {name}: s3.object.key")
    if not bucket or key is None:
        raise EventError(f"S3 record {name}: no bucket name or object key")
    return ObjectEvent(
        bucket=str(bucket),
        key=unquote_plus(str(key)),
        size=_int(obj.get("size")),
        etag=_text(obj.get("eTag"), "s3.object.eTag"),
        version_id=_text(obj.get("versionId"), "s3.object.versionId"),
        sequencer=_text(obj.get("sequencer"), "s3.object.sequencer"),
        event_time=_text(record.get("eventTime"), "eventTime"),
        event_name=name,
        source=source,
    )


def _eventbridge(event: Mapping[str, Any], source: str) -> list[ObjectEvent]:
    if event.get("detail-type") != "Object Created":
        return []
    where = f"EventBridge event {event.get('id')}"
    detail = _object(event.get("detail"), f"{where}: detail")
    obj = _object(detail.get("object"), f"{where}: detail.object")
    bucket = _text(_object(detail.get("bucket"), f"{where}: detail.bucket").get("name"), f"{where}: bucket name")
    key = _text(obj.get("key"), f"{where}: detail.object.key")
    if not bucket or key is None:
        raise EventError(f"EventBridge event {event.get('id')}: no bucket name or object key")
    return [
        ObjectEvent(
            bucket=str(bucket),
            # EventBridge sends the key decoded; unquote_plus would turn a literal '+' into a space
            key=str(key),
            size=_int(obj.get("size")),
            etag=_text(obj.get("etag") or obj.get("eTag"), f"{where}: etag"),
            version_id=_text(obj.get("version-id"), f"{where}: version-id"),
            sequencer=_text(obj.get("sequencer"), f"{where}: sequencer"),
            event_time=_text(event.get("time"), f"{where}: time"),
            event_name="ObjectCreated",
            source=source,
        )
    ]


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def parse_message(message: Any, source: str = "s3") -> list[ObjectEvent]:
    """Events in one message of any supported shape (a dict or its JSON text)."""
    doc = _loads(message, source)
    if isinstance(doc, list):  # a batch of messages: each an object (no lists of lists)
        return [e for item in doc for e in parse_message(_object(item, f"{source}: a message in a list"), source)]
    if not isinstance(doc, Mapping):
        raise EventError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("Event") == "s3:TestEvent":
        return []
    if "detail-type" in doc and "detail" in doc:
        return _eventbridge(doc, "eventbridge" if source == "s3" else f"eventbridge+{source}")
    if doc.get("Type") == "Notification" and "Message" in doc:  # an SNS envelope (in SQS)
        return parse_message(doc["Message"], "sns+sqs" if source == "sqs" else "sns")
    if "message_batch" in doc:  # Airflow's SQS trigger payload
        batch = doc["message_batch"] or []
        if not isinstance(batch, list):
            raise EventError(f"{source}: message_batch is {type(batch).__name__}, not a list")
        return [e for m in batch for e in parse_message(_object(m, "message_batch[]").get("Body", "{}"), "sqs")]
    records = doc.get("Records")
    if isinstance(records, list):
        out: list[ObjectEvent] = []
        for record in records:
            out.extend(parse_record(record, source))
        return out
    raise EventError(f"{source}: not an S3, SNS, SQS or EventBridge event (keys: {', '.join(sorted(doc)[:8])})")


def parse_record(record: Any, source: str = "s3") -> list[ObjectEvent]:
    """Events in one ``Records[]`` entry: an S3 record, an SQS message or an SNS notification."""
    if not isinstance(record, Mapping):
        raise EventError(f"{source}: a record is {type(record).__name__}, not a JSON object")
    if record.get("eventSource") == "aws:sqs" or ("body" in record and "receiptHandle" in record):
        return parse_message(record.get("body", ""), "sqs")
    if record.get("EventSource") == "aws:sns" or "Sns" in record:
        return parse_message(_object(record.get("Sns"), "sns: Sns").get("Message", ""), "sns")
    if "s3" in record:
        event = _s3_record(record, source)
        return [event] if event else []
    raise EventError(f"{source}: a record that is neither S3, SQS nor SNS (keys: {', '.join(sorted(record)[:8])})")


def parse_event(event: Any) -> list[ObjectEvent]:
    """Every object-created event in a Lambda event or message, duplicates dropped."""
    return dedupe(parse_message(event))


def sqs_records(event: object) -> Iterator[Mapping[str, Any]] | None:
    """The SQS records of a Lambda event (for partial batch responses), or None if not SQS."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not records:
        return None
    if all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records):
        return iter(records)
    return None


# --- DMS folder layouts --------------------------------------------------------------------

_DATE_DIRS = re.compile(r"^(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})(?:/(?P<h>\d{2}))?$")
_DMS_NAME = re.compile(r"^(?:LOAD[0-9A-Fa-f]{8}|\d{8}-\d+)\.(?:csv|parquet)(?:\.gz)?$")


@dataclass(frozen=True)
class DmsKey:
    """Where a DMS file sits: ``<folder>/<schema>/<table>/[yyyy/mm/dd[/hh]/]<name>``."""

    folder: str
    schema: str
    table: str
    name: str
    kind: str  # "load" | "cdc"
    partition_date: str | None = None


def parse_dms_key(key: str) -> DmsKey | None:
    """The schema, table and date folder of a DMS data file key, or None for other keys."""
    parts = key.strip("/").split("/")
    name = parts[-1]
    if not _DMS_NAME.match(name):
        return None
    parent = parts[:-1]
    partition_date = None
    for depth in (4, 3):  # yyyy/mm/dd/hh or yyyy/mm/dd below the table folder
        if len(parent) >= depth + 2:
            match = _DATE_DIRS.match("/".join(parent[-depth:]))
            if match:
                partition_date = f"{match['y']}-{match['m']}-{match['d']}"
                parent = parent[:-depth]
                break
    if len(parent) < 2:
        return None
    return DmsKey(
        folder="/".join(parent[:-2]),
        schema=parent[-2],
        table=parent[-1],
        name=name,
        kind="load" if name.upper().startswith("LOAD") else "cdc",
        partition_date=partition_date,
    )
