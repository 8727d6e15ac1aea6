"""Find which base files hold given record keys: key range, bloom filter, then the key column.

What locating reads is kept for the rewrite of the same files (:class:`Located`): the mask of the
rows holding the keys and, within a byte budget, the file's key column.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tributary.hudi.base_file import BaseFile, Footer, read_table
from tributary.hudi.bloom import DynamicBloomFilter
from tributary.storage import Storage

logger = logging.getLogger(__name__)

LOCATED_KEYS_MAX_BYTES = 256 * 2**20
"""Key columns read while locating keys are kept for the rewrite up to this many bytes in total."""
BLOOM_PROBE_ROWS_PER_KEY = 30
"""Probe a file's bloom filter only when it holds more than this many rows per candidate key."""
RECORD_SIZE_SAMPLE_FILES = 20
"""Footers read to estimate the stored bytes per record."""


class KeyProbe:
    """Bloom filter probes of the incoming keys, one file at a time (numpy, see ``KeyHasher``)."""

    def __init__(self, keys: pa.Array) -> None:
        self.keys = keys

    def might_contain(self, bloom: DynamicBloomFilter, mask: pa.Array) -> pa.Array:
        """``mask`` narrowed to the keys ``bloom`` may hold (only the masked keys are hashed)."""
        sel = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), np.bool_))
        cands = self.keys.take(pa.array(sel))
        hit = np.asarray(bloom.might_contain(cands).to_numpy(zero_copy_only=False), np.bool_)
        out = np.zeros(len(self.keys), np.bool_)
        out[sel[hit]] = True
        return pa.array(out, pa.bool_())


@dataclass(frozen=True)
class Located:
    """What locating read from one base file: the keys found, the mask of their rows, and the
    file's key column (None when over the budget)."""

    hits: pa.Array
    mask: pa.Array | pa.ChunkedArray
    file_keys: pa.ChunkedArray | None


class KeyLocator:
    """Locates keys in base files; ``footer`` returns a file's (cached) footer."""

    def __init__(self, storage: Storage, footer: Callable[[BaseFile], Footer], threads: int = 1) -> None:
        self.storage = storage
        self.footer = footer
        self.threads = threads
        self.located: dict[str, Located] = {}  # base file path -> what locating read from it
        self._kept_bytes = 0

    def take(self, path: str) -> Located | None:
        """What locating read from ``path`` (handed out once)."""
        return self.located.pop(path, None)

    def _candidates(self, bf: BaseFile, keys: pa.Array, probe: KeyProbe) -> pa.Array | None:
        """The mask of ``keys`` the file's key range and bloom filter do not rule out, or None."""
        footer = self.footer(bf)
        if footer.num_rows == 0:
            return None
        if footer.min_key is not None and footer.max_key is not None:
            mask = pc.and_(pc.greater_equal(keys, footer.min_key), pc.less_equal(keys, footer.max_key))
            n = pc.sum(pc.cast(mask, pa.int64())).as_py() or 0
            if n == 0:
                return None
        else:
            mask = pa.repeat(pa.scalar(True), len(keys))
            n = len(keys)
        if footer.bloom_text and n * BLOOM_PROBE_ROWS_PER_KEY < footer.num_rows:
            bloom = footer.bloom()
            assert bloom is not None
            mask = probe.might_contain(bloom, mask)
            if not pc.any(mask).as_py():
                return None
        return mask

    def locate(self, files: Sequence[BaseFile], keys: pa.Array) -> list[tuple[BaseFile, pa.Array]]:
        """(file, keys found in it) for every file holding some of ``keys``.

        The files are searched ``threads`` at a time (reading and matching a key column release
        the GIL); what is kept for the rewrite is decided in file order afterwards."""
        found: list[tuple[BaseFile, pa.Array]] = []
        if len(keys) == 0 or not files:
            return found
        probe = KeyProbe(keys)
        if self.threads > 1 and len(files) > 1:
            with ThreadPoolExecutor(min(self.threads, len(files)), thread_name_prefix="locate") as pool:
                searched = list(pool.map(lambda bf: self._search(bf, keys, probe), files))
        else:
            searched = [self._search(bf, keys, probe) for bf in files]
        for bf, match in zip(files, searched, strict=True):
            if match is None:
                continue
            hits, in_file, file_keys = match
            found.append((bf, hits))
            # the rewrite of this file drops exactly these rows: keep the mask (and, within a
            # budget, the key column) so it neither reads the keys again nor probes them again
            keep_keys = self._kept_bytes + file_keys.nbytes <= LOCATED_KEYS_MAX_BYTES
            if keep_keys:
                self._kept_bytes += file_keys.nbytes
            self.located[bf.path] = Located(hits, in_file, file_keys if keep_keys else None)
        return found

    def _search(
        self, bf: BaseFile, keys: pa.Array, probe: KeyProbe
    ) -> tuple[pa.Array, pa.ChunkedArray, pa.ChunkedArray] | None:
        """The keys of ``keys`` in ``bf``, the mask of their rows and the file's key column (None
        when it holds none of them)."""
        mask = self._candidates(bf, keys, probe)
        if mask is None:
            return None
        cands = pc.filter(keys, mask)
        file_keys = read_table(self.storage, bf.path, ["_hoodie_record_key"]).column(0)
        # hash the smaller side (the candidates), probe the file's keys
        in_file = pc.is_in(file_keys, value_set=cands)
        hits = pc.filter(file_keys, in_file).combine_chunks()
        return (hits, in_file, file_keys) if len(hits) else None

    def stored_record_bytes(self, slices: Sequence[BaseFile]) -> float | None:
        """Bytes per stored record in the last few of ``slices`` (None when they hold no rows)."""
        rows = size = 0
        for bf in slices[-RECORD_SIZE_SAMPLE_FILES:]:
            footer = self.footer(bf)
            if footer.num_rows:
                # the bloom filter (~430 KB of footer) does not grow with the rows
                rows += footer.num_rows
                size += max(0, bf.size - len(footer.bloom_text or b""))
        return max(1.0, size / rows) if rows else None
