"""How a table orders changes to one key, as ``hoodie.properties`` tells Hudi's Java writers.

Tributary orders by event time (issue #16): a change replaces the stored row unless its
precombine value is lower. Hudi spells that ``DefaultHoodieRecordPayload`` (0.15, table
version 6; its ordering field is the precombine field) and ``hoodie.record.merge.mode=
EVENT_TIME_ORDERING`` with the event-time merge strategy (1.0, table version 8). Without a
precombine field the latest change wins: Hudi's commit-time ordering. Tables whose recorded mode
the embedded writer does not implement are refused.
"""

from __future__ import annotations

from enum import StrEnum

from tributary.errors import UnsupportedTableError

MERGE_MODE = "hoodie.record.merge.mode"
MERGE_STRATEGY = "hoodie.record.merge.strategy.id"
PAYLOAD_CLASS = "hoodie.compaction.payload.class"
ORDERING_FIELD = "hoodie.payload.ordering.field"


class MergeMode(StrEnum):
    EVENT_TIME_ORDERING = "EVENT_TIME_ORDERING"
    COMMIT_TIME_ORDERING = "COMMIT_TIME_ORDERING"
    CUSTOM = "CUSTOM"


class Payload(StrEnum):
    EVENT_TIME = "org.apache.hudi.common.model.DefaultHoodieRecordPayload"
    COMMIT_TIME = "org.apache.hudi.common.model.OverwriteWithLatestAvroPayload"


class MergeStrategy(StrEnum):
    EVENT_TIME = "eeb8d96f-b1e4-49fd-bbf8-28ac514178e5"
    COMMIT_TIME = "ce9acb64-bde0-424c-9b91-f6ebba25356d"


def ordering_properties(table_version: int, precombine_field: str | None) -> dict[str, str]:
    """The merge properties of a new table, as Hudi writes them for the same options."""
    event = precombine_field is not None
    props = {PAYLOAD_CLASS: (Payload.EVENT_TIME if event else Payload.COMMIT_TIME).value}
    if table_version == 6:
        if event:
            props[ORDERING_FIELD] = str(precombine_field)
        return props
    mode = MergeMode.EVENT_TIME_ORDERING if event else MergeMode.COMMIT_TIME_ORDERING
    strategy = MergeStrategy.EVENT_TIME if event else MergeStrategy.COMMIT_TIME
    return {MERGE_MODE: mode.value, MERGE_STRATEGY: strategy.value, **props}


def check_supported(props: dict[str, str], where: str, name: str) -> None:
    """Refuse a table whose recorded merge mode the embedded writer would not follow."""
    precombine = props.get("hoodie.table.precombine.field") or None
    mode = props.get(MERGE_MODE)
    payload = props.get(PAYLOAD_CLASS)
    implemented = MergeMode.EVENT_TIME_ORDERING if precombine else MergeMode.COMMIT_TIME_ORDERING
    if mode is not None and mode != implemented.value:
        raise UnsupportedTableError(
            f"{where}: table {name!r} has {MERGE_MODE}={mode}"
            + (f" with precombine field {precombine!r}" if precombine else " and no precombine field")
            + f"; the embedded writer implements {implemented.value} for it. Write the table with engine "
            "'glue', or recreate it with Tributary's ordering"
        )
    expected = Payload.EVENT_TIME if precombine else Payload.COMMIT_TIME
    if payload == Payload.COMMIT_TIME.value and precombine:
        raise UnsupportedTableError(
            f"{where}: table {name!r} has {PAYLOAD_CLASS}={payload} (commit-time ordering) with precombine field "
            f"{precombine!r}; the embedded writer orders by the precombine field ({expected.value}). Write the "
            "table with engine 'glue', or recreate it with Tributary's ordering"
        )
    if payload is not None and payload not in {Payload.EVENT_TIME.value, Payload.COMMIT_TIME.value}:
        raise UnsupportedTableError(
            f"{where}: table {name!r} uses payload class {payload} ({PAYLOAD_CLASS}); the embedded writer "
            "implements only DefaultHoodieRecordPayload (event-time ordering) and OverwriteWithLatestAvroPayload. "
            "Write the table with engine 'glue'"
        )
