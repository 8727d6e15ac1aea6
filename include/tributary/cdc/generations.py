"""Which given files a table takes: compared with its ledger, and full-load generations dated.

A file the ledger holds with the same content is applied already; other content under a CDC
file's name is a re-upload (refused). Other content under a ``LOAD*`` name is what a DMS reload
writes, in any order and not always all of it: ``LOAD00000001`` starts a new generation, the other
rewritten files belong to it. With a precombine field (DMS's ``TimestampColumnName``: load rows
carry the load time) a generation is dated by its ``LOAD00000001``'s smallest value (the floor): a
rewritten load file whose rows are not older than the table's floor joins the generation (it may
arrive before or after its ``LOAD00000001``); one dated before it (a restored copy of an older
load, or ``LOAD00000001`` of an older generation) is refused. Without a precombine field the
names decide: a rewritten file joins a generation started in the same batch, or when its name
is not one of the current generation's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from tributary.cdc.checkpoint import Checkpoint, FileState
from tributary.cdc.files import CdcFile, FileKind, content_digest
from tributary.cdc.ledger import Version
from tributary.cdc.options import CdcOptions
from tributary.errors import CdcFileError, StorageError

if TYPE_CHECKING:  # pyarrow loads only when files are read: sort_out decides a no-op run without it
    import pyarrow as pa

log = logging.getLogger(__name__)

Batch: TypeAlias = "tuple[CdcFile, pa.Table]"


@dataclass(frozen=True)
class Refusal:
    """A file not applied because other content was applied under its name."""

    path: str
    uri: str
    message: str


@dataclass(frozen=True)
class Sorting:
    """Files given to :func:`tributary.cdc.apply.apply_files`, compared with what the table applied."""

    pending: list[CdcFile]
    skipped: tuple[str, ...]
    refused: tuple[Refusal, ...]
    reloads: frozenset[str]
    """Paths of ``LOAD00000001`` with new content (dated by :func:`admit_loads` once read)."""
    rewritten: frozenset[str]
    """Paths of other load files with new content under an applied name (dated likewise)."""


def sort_out(checkpoint: Checkpoint, ordered: Sequence[CdcFile], *, rebuild: bool = False) -> Sorting:
    """Pending (new, or rewritten load files), applied already (same content), or refused
    (other content under an applied CDC file's name)."""
    if rebuild:
        return Sorting(list(ordered), (), (), frozenset(), frozenset())
    digests: dict[str, str] = {}

    def digest(f: CdcFile) -> str:
        if f.digest:
            return f.digest
        if f.uri not in digests:
            try:
                digests[f.uri] = content_digest(f.uri)
            except StorageError as exc:
                raise CdcFileError(f.path, str(exc)) from exc
        return digests[f.uri]

    pending: list[CdcFile] = []
    skipped: list[str] = []
    refused: list[Refusal] = []
    reloads: set[str] = set()
    rewritten: set[str] = set()
    for f in ordered:
        state = checkpoint.state(f, digest)
        if state is FileState.APPLIED:
            skipped.append(f.path)
        elif state is FileState.CHANGED and f.kind is FileKind.CDC:
            refused.append(refusal(f, checkpoint.ledger[f.path], digest(f)))
        else:
            pending.append(f)
            if state is FileState.RELOAD:
                reloads.add(f.path)
            elif state is FileState.CHANGED:
                rewritten.add(f.path)
            elif f.kind is FileKind.CDC and checkpoint.watermark and f.order_key < checkpoint.watermark:
                log.warning("%s arrived after later CDC files were applied; applying it now", f.path)
    return Sorting(pending, tuple(skipped), tuple(refused), frozenset(reloads), frozenset(rewritten))


def refusal(file: CdcFile, applied: Version, digest: str, why: str = "") -> Refusal:
    """The refusal of ``file`` (other content than the ``applied`` version), naming both."""
    now = Version(file.size, file.mtime_ns, digest, file.kind, file.order_key)
    message = (
        f"{file.path}: re-uploaded with other content ({now.describe()}) after the version applied "
        f"({applied.describe()}){why}; not applied. If the source data really changed, rebuild the table "
        "(`tributary tables reload TABLE`, or `tributary cdc apply --reload`); otherwise restore the applied "
        "version or skip this one (`tributary files skip ID`)"
    )
    log.error(message)
    return Refusal(file.path, file.uri, message)


def dates_generations(options: CdcOptions) -> bool:
    """Whether load rows carry a precombine value that dates full-load generations."""
    return bool(options.precombine_field) and not options.historical


def generation_floor(batches: Sequence[Batch], options: CdcOptions, checkpoint: Checkpoint) -> pa.Scalar | None:
    """A batch holding LOAD00000001 starts a full-load generation: its rows' smallest precombine
    value (DMS stamps load rows with the load time) is the generation's floor, below which later
    changes predate the load and are dropped. None without one, or for a first file older than
    the current generation."""
    import pyarrow.compute as pc  # here, not at the top: sorting files out (a no-op run) needs no compute

    from tributary.cdc.ordering import decode_value

    if not dates_generations(options):
        return None
    name = options.precombine_field
    firsts = [t.column(name) for f, t in batches if f.load_counter == 1 and t.num_rows]
    if not firsts:
        return None
    floor = pc.min(firsts[0])
    current = decode_value(checkpoint.reload_floor)
    if current is not None and pc.less(floor, current.cast(floor.type)).as_py():
        return None
    return floor


def admit_loads(
    batches: Sequence[Batch], sorting: Sorting, options: CdcOptions, checkpoint: Checkpoint
) -> tuple[list[Batch], list[Refusal]]:
    """The batches without the rewritten load files that belong to no current generation, and
    their refusals (see the module docstring)."""
    candidates = sorting.reloads | sorting.rewritten
    if not any(f.path in candidates for f, _ in batches):
        return list(batches), []
    from tributary.cdc.ordering import decode_value

    current = decode_value(checkpoint.reload_floor) if dates_generations(options) else None
    name = options.precombine_field  # set whenever ``current`` is: dates_generations needs it
    if current is None or name is None:
        starts = any(f.path in sorting.reloads for f, _ in batches)
        late = {
            f.path for f, _ in batches if f.path in sorting.rewritten and not starts and f.path in checkpoint.generation
        }
        return _split(batches, late, checkpoint, "")
    older = {f.path for f, t in batches if f.path in sorting.reloads and _dated_before(t, name, current)}
    kept = [(f, t) for f, t in batches if f.path not in older]
    floor = generation_floor(kept, options, checkpoint)
    floor = current if floor is None else floor
    older |= {f.path for f, t in kept if f.path in sorting.rewritten and _dated_before(t, name, floor)}
    return _split(batches, older, checkpoint, f" with rows dated before the current full-load generation ({floor})")


def _dated_before(table: pa.Table, name: str, floor: pa.Scalar) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    from tributary.cdc.ordering import encode_value

    if name not in table.column_names or table.num_rows == 0:
        return False
    least = pc.min(table.column(name))
    if not least.is_valid:
        return False
    try:
        return bool(pc.less(least, floor.cast(least.type)).as_py())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        log.warning("precombine value %s cannot be compared with %s", encode_value(least), floor)
        return False


def _split(
    batches: Sequence[Batch], refused: set[str], checkpoint: Checkpoint, why: str
) -> tuple[list[Batch], list[Refusal]]:
    kept = [(f, t) for f, t in batches if f.path not in refused]
    return kept, [refusal(f, checkpoint.ledger[f.path], f.digest, why) for f, _ in batches if f.path in refused]
