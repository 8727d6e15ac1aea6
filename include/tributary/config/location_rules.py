"""One owner per location: the rules between the staging prefixes and targets of all raw tables.

Locations are compared as the folder they name (:func:`~tributary.config.locations.resolve_location`):
``lake/s/t``, ``lake/s/t/`` and ``file:///<data folder>/lake/s/t`` are one folder. No two tables
share one; none lies inside another's (a target inside a staging prefix would have its own files
registered as CDC input; a target inside a target would be read as part of it); local locations
outside the data folder must not be system folders. Each problem names the other row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tributary.config.locations import resolve_location, system_folder

LOCATION_FIELDS = ("staging_prefix", "target_uri")
_LABELS = {"staging_prefix": "staging prefix", "target_uri": "target"}


@dataclass(frozen=True)
class Place:
    """One location a table claims."""

    table_id: str
    field: str
    value: str
    key: str
    """The folder it names: an absolute local path or ``s3://bucket/key``."""
    where: str
    """``file:line`` of the row, for messages about the other row."""

    def describe(self) -> str:
        return f"the {_LABELS[self.field]} of table {self.table_id!r} ({self.where})"


@dataclass(frozen=True)
class LocationProblem:
    table_id: str
    field: str
    message: str


def _ancestors(key: str) -> list[str]:
    """Proper parent folders of ``key``: ``s3://b/a/c`` → ``s3://b``, ``s3://b/a``."""
    if key.startswith("s3://"):
        head, parts = "s3://", key[len("s3://") :].split("/")
    else:
        head, parts = "/", key.strip("/").split("/")
    out = [head + "/".join(parts[:i]) for i in range(1, len(parts))]
    return ([] if head == "s3://" or key == "/" else ["/"]) + out


class LocationIndex:
    """Every location claimed so far, with the folders above each, for O(depth) checks per place."""

    def __init__(self) -> None:
        self.claimed: dict[str, Place] = {}
        self.below: dict[str, Place] = {}
        """A folder → the first place claimed inside it."""

    def conflict(self, place: Place) -> str | None:
        """Why ``place`` overlaps a location already claimed, or None."""
        other = self.claimed.get(place.key)
        if other is not None:
            return f"{place.value!r} is already used as {other.describe()}; give each table its own folder"
        for folder in _ancestors(place.key):
            other = self.claimed.get(folder)
            if other is not None:
                return f"{place.value!r} lies inside {other.describe()}; give each table its own folder"
        other = self.below.get(place.key)
        if other is not None:
            return f"{place.value!r} holds {other.describe()}; give each table its own folder"
        return None

    def claim(self, place: Place) -> None:
        self.claimed[place.key] = place
        for folder in _ancestors(place.key):
            self.below.setdefault(folder, place)


def location_problems(places: Iterable[Place], home: Path) -> list[LocationProblem]:
    """Problems of ``places`` given in row order; the later row of an overlapping pair is blamed."""
    index = LocationIndex()
    problems: list[LocationProblem] = []
    for place in places:
        reason = None if place.key.startswith("s3://") else system_folder(place.key, home)
        if reason is not None:
            message = (
                f"{place.value!r} cannot hold a table: {reason}; use a folder of its own, e.g. under the data folder"
            )
        else:
            message = index.conflict(place) or ""
        if message:
            problems.append(LocationProblem(place.table_id, place.field, message))
        else:
            index.claim(place)
    return problems


def place_of(table_id: str, field: str, value: str, where: str, home: Path) -> Place:
    """A table's location as a :class:`Place`. Relative locations are joined to the (resolved)
    data folder without touching the disk (they hold no '..' or '//'): thousands of tables
    validate in milliseconds; ``file://`` ones are resolved, so a symlink to /etc is seen."""
    if value.startswith(("s3://", "file://")):
        return Place(table_id, field, value, resolve_location(value), where)
    return Place(table_id, field, value, str(home / value), where)
