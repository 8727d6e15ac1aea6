"""What a Hudi table has applied, kept in each commit's ``extraMetadata``.

The checkpoint travels inside the commit that applies the files, so the data and the record of
which files produced it complete together or not at all (a crashed, pending instant is rolled
back by the writer and its checkpoint never existed). Its size stays bounded:

- ``tributary.cdc.watermark``: the greatest DMS order key of any applied CDC file;
- ``tributary.cdc.recent``: the paths of the last ``recent_files_kept`` applied CDC files (a CDC
  file name is a timestamp DMS never reuses, so its path is its identity);
- ``tributary.cdc.floor``: once ``recent`` was trimmed, the smallest order key it still holds;
  CDC files ordered below it count as applied. Between floor and watermark, a file not in
  ``recent`` arrived late and is pending;
- ``tributary.cdc.loads``: identities (path, size, mtime) of applied full-load files, the last
  ``4 * recent_files_kept``. A reload rewrites ``LOAD00000001.csv`` under the same name, so a
  new size or mtime makes it pending again; a stale file of an older load that the reload did
  not rewrite keeps its identity and stays applied;
- ``tributary.cdc.generation``: the paths of the current full load (the latest load or reload).
  A pending load file whose path is in it rewrites it: a new reload, whose commit replaces the
  table. A pending load file with a new path extends the current load (DMS writes a large load
  over many files and hours), and is upserted;
- ``tributary.cdc.files`` / ``tributary.cdc.files_total``: the files this commit applied, and how
  many all commits applied (an audit trail: a file applied twice shows in the history);
- ``tributary.cdc.segments``: the ledger of every applied file version (path, size, mtime,
  content digest) in side files (see :mod:`tributary.cdc.ledger`). When it exists it is the
  authority: a file is applied when the ledger holds its path with the same content; a path it
  holds with other content is a re-upload (refused) or, for a load file, part of a reload
  generation when :mod:`tributary.cdc.generations` dates it so. ``floor``/``recent``/``loads``
  above then only cover files applied before the ledger started (``tributary.cdc.legacy_floor``) and readers of older versions;
- ``tributary.cdc.markers``: the delete markers' side file; ``tributary.cdc.max_order`` and
  ``tributary.cdc.reload_floor``: the greatest precombine value applied and the smallest one of
  the current full-load generation (Arrow IPC, base64), which make in-order batches cheap and
  keep changes older than a reload out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from tributary.cdc.files import CdcFile, FileKind
from tributary.cdc.ledger import Version
from tributary.errors import CdcError

log = logging.getLogger(__name__)

PREFIX = "tributary.cdc."
VERSION = "1"
K_VERSION = PREFIX + "version"
K_MODE = PREFIX + "mode"
K_WATERMARK = PREFIX + "watermark"
K_FLOOR = PREFIX + "floor"
K_RECENT = PREFIX + "recent"
K_LOADS = PREFIX + "loads"
K_GENERATION = PREFIX + "generation"
K_FILES = PREFIX + "files"
K_FILES_TOTAL = PREFIX + "files_total"
K_RELOAD = PREFIX + "reload"
K_SEGMENTS = PREFIX + "segments"
K_LEGACY_FLOOR = PREFIX + "legacy_floor"
K_MARKERS = PREFIX + "markers"
K_MAX_ORDER = PREFIX + "max_order"
K_RELOAD_FLOOR = PREFIX + "reload_floor"


class FileState(StrEnum):
    """A file compared with what the table applied."""

    NEW = "new"
    APPLIED = "applied"
    CHANGED = "changed"
    """Other content under the name of an applied file: a CDC file is refused (quarantined), never
    applied; a load file may belong to a reload generation (:mod:`tributary.cdc.generations`)."""
    RELOAD = "reload"
    """``LOAD00000001`` with new content: it starts a new full-load generation."""


def _cdc_order_key(path: str) -> str:
    return f"1|{path.rsplit('/', 1)[-1]}|{path}"


@dataclass(frozen=True)
class Checkpoint:
    """The applied state of one table (empty for a new table or one written by Spark)."""

    watermark: str = ""
    floor: str = ""
    recent: tuple[str, ...] = ()
    loads: tuple[str, ...] = ()
    generation: tuple[str, ...] = ()
    files_total: int = 0
    mode: str | None = None
    segments: tuple[str, ...] = ()
    legacy_floor: str = ""
    markers: str = ""
    max_order: str = ""
    reload_floor: str = ""
    ledger: Mapping[str, Version] = field(default_factory=dict, repr=False, compare=False)
    """The applied versions read from ``segments`` (see :func:`tributary.cdc.apply.read_checkpoint`)."""
    _recent_set: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _load_set: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_recent_set", frozenset(self.recent))
        object.__setattr__(self, "_load_set", frozenset(self.loads))

    @property
    def empty(self) -> bool:
        return not (self.watermark or self.loads or self.files_total)

    def is_applied(self, file: CdcFile) -> bool:
        """Applied with this content (content known from size and mtime, or the digest)."""
        if file.kind is FileKind.LOAD and file.identity in self._load_set:
            return True  # this very version; a Spark/Glue commit records it here, not in the ledger
        known = self.ledger.get(file.path)
        if known is not None:
            return same_content(known, file) is True
        if file.kind is FileKind.LOAD:
            return False
        if file.path in self._recent_set:
            return True
        floor = self.legacy_floor if self.segments else self.floor
        return bool(floor) and file.order_key < floor

    def state(self, file: CdcFile, digest: Callable[[CdcFile], str]) -> FileState:
        """NEW, APPLIED, CHANGED or RELOAD; ``digest`` reads a file's content digest when size and
        mtime cannot tell (a touched file)."""
        known = self.ledger.get(file.path)
        if known is None:
            return FileState.APPLIED if self.is_applied(file) else FileState.NEW
        same = same_content(known, file)
        if same is None:
            same = not known.digest or known.digest == digest(file)
        if same:
            return FileState.APPLIED
        if file.kind is FileKind.LOAD and file.identity in self._load_set:
            # this very version (path, size, mtime) was applied by a commit that added no ledger
            # entry: a Spark/Glue commit carries the checkpoint's file identities only
            return FileState.APPLIED
        if file.kind is FileKind.LOAD and file.load_counter == 1:
            return FileState.RELOAD  # a new generation, once dated (tributary.cdc.generations)
        return FileState.CHANGED

    def pending(self, files: Iterable[CdcFile]) -> list[CdcFile]:
        """The files not applied yet, in the order given; logs late arrivals."""
        out = []
        for f in files:
            if self.is_applied(f):
                continue
            if f.kind is FileKind.CDC and self.watermark and f.order_key < self.watermark:
                log.warning("%s arrived after later CDC files were applied; applying it now", f.path)
            out.append(f)
        return out

    def is_reload(self, pending: Sequence[CdcFile]) -> bool:
        """Pending full-load files start a reload when one rewrites a file of the current load
        (same path, new size or mtime), or when CDC files were applied to a table that never had
        a full load. A load file with a new path extends the current load instead."""
        loads = [f for f in pending if f.kind is FileKind.LOAD]
        if not loads:
            return False
        if not self.generation:
            return bool(self.watermark)
        current = set(self.generation)
        return any(f.path in current for f in loads)

    def advance(self, applied: Sequence[CdcFile], *, reload: bool, keep: int) -> Checkpoint:
        """The checkpoint after ``applied`` (in DMS order) is committed."""
        cdc = [f.path for f in applied if f.kind is FileKind.CDC]
        new_loads = [f for f in applied if f.kind is FileKind.LOAD]
        loads = list(dict.fromkeys((*self.loads, *(f.identity for f in new_loads))))[-4 * keep :]
        paths = [f.path for f in new_loads]
        generation = tuple(dict.fromkeys(paths if reload else (*self.generation, *paths)))
        recent = sorted(set(self.recent) | set(cdc), key=_cdc_order_key)
        floor = self.floor
        if len(recent) > keep:
            recent = recent[-keep:]
            floor = _cdc_order_key(recent[0])
        watermark = max([self.watermark, *(_cdc_order_key(p) for p in cdc)])
        return replace(
            self,
            watermark=watermark,
            floor=floor,
            recent=tuple(recent),
            loads=tuple(loads),
            generation=generation,
            files_total=self.files_total + len(applied),
            # unknown until the caller orders these files' changes (another engine's commit must
            # not leave a stale maximum that would skip the next batch's stored-row lookups)
            max_order="",
        )

    def to_metadata(self, applied: Sequence[CdcFile], *, reload: bool, mode: str) -> dict[str, str]:
        """``extraMetadata`` entries of the commit that applies ``applied``."""
        return {
            K_VERSION: VERSION,
            K_MODE: mode,
            K_WATERMARK: self.watermark,
            K_FLOOR: self.floor,
            K_RECENT: json.dumps(list(self.recent), separators=(",", ":")),
            K_LOADS: json.dumps(list(self.loads), separators=(",", ":")),
            K_GENERATION: json.dumps(list(self.generation), separators=(",", ":")),
            K_FILES: json.dumps([f.path for f in applied], separators=(",", ":")),
            K_FILES_TOTAL: str(self.files_total),
            K_RELOAD: "true" if reload else "false",
            **({K_SEGMENTS: json.dumps(list(self.segments), separators=(",", ":"))} if self.segments else {}),
            **({K_LEGACY_FLOOR: self.legacy_floor} if self.legacy_floor else {}),
            **({K_MARKERS: self.markers} if self.markers else {}),
            **({K_MAX_ORDER: self.max_order} if self.max_order else {}),
            **({K_RELOAD_FLOOR: self.reload_floor} if self.reload_floor else {}),
        }

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str] | None) -> Checkpoint:
        """Parse a commit's ``extraMetadata``; a commit without a checkpoint gives an empty one."""
        if not meta or K_VERSION not in meta:
            return cls()
        if meta[K_VERSION] != VERSION:
            raise CdcError(f"checkpoint version {meta[K_VERSION]} is not supported (expected {VERSION})")
        try:
            return cls(
                watermark=meta.get(K_WATERMARK, ""),
                floor=meta.get(K_FLOOR, ""),
                recent=tuple(json.loads(meta.get(K_RECENT, "[]"))),
                loads=tuple(json.loads(meta.get(K_LOADS, "[]"))),
                generation=tuple(json.loads(meta.get(K_GENERATION, "[]"))),
                files_total=int(meta.get(K_FILES_TOTAL, "0")),
                mode=meta.get(K_MODE),
                segments=tuple(json.loads(meta.get(K_SEGMENTS, "[]"))),
                legacy_floor=meta.get(K_LEGACY_FLOOR, ""),
                markers=meta.get(K_MARKERS, ""),
                max_order=meta.get(K_MAX_ORDER, ""),
                reload_floor=meta.get(K_RELOAD_FLOOR, ""),
            )
        except (ValueError, TypeError) as exc:
            raise CdcError(f"checkpoint in the table's commit metadata is corrupt: {exc}") from exc


def same_content(known: Version, file: CdcFile) -> bool | None:
    """True/False when size, digests or mtime decide; None when only the content can tell."""
    if known.digest and file.digest:
        return known.digest == file.digest
    if known.size != file.size:
        return False
    if known.mtime_ns == file.mtime_ns:
        return True
    return None


def applied_files(meta: Mapping[str, str] | None) -> list[str]:
    """The files one commit applied (from its ``extraMetadata``)."""
    if not meta or K_FILES not in meta:
        return []
    return list(json.loads(meta[K_FILES]))
