"""Hudi's DYNAMIC_V0 bloom filter, byte-compatible with Spark-written base files.

Hudi stores ``org.apache.hudi.bloomfilter`` in every base file footer: the Base64 of a
``HoodieDynamicBoundedBloomFilter`` serialised with Java ``DataOutput`` (big-endian):

    filter header: int version=-1, int nbHash, byte hashType (1 = Hadoop MurmurHash), int vectorSize
    int nr (entries per row), int currentNbRecord, int rows, then per row: header + bit vector

Each row's bit vector is ``ceil(vectorSize / 8)`` bytes, bit ``i`` in byte ``i // 8`` at
position ``i % 8`` (LSB first). A key is added to row ``r`` at the ``nbHash`` positions
``abs(h_j % vectorSize)`` where ``h_0 = murmur(key, 0)`` and ``h_j = murmur(key, h_{j-1})``
(Hadoop ``MurmurHash``, 32-bit; the 1-3 tail bytes sign-extended and taken as
``data[len-3] << 16 ^ data[len-2] << 8 ^ data[len-1]``, not the reference MurmurHash2 order). Rows fill with ``nr`` keys each until
``rows * nr >= maxNr``; after that keys go round-robin over the rows.

Hashing is vectorised with numpy (:class:`KeyHasher`): keys are grouped by byte length and
every 4-byte block is read as one uint32 column; bits are set in a bool array per row and packed
LSB first. ``murmur_hash`` is the scalar reference the vectorised code is tested against.
"""

from __future__ import annotations

import base64
import copy
import math
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_NUM_ENTRIES = 60_000
DEFAULT_FPP = 0.000000001
DEFAULT_MAX_ENTRIES = 100_000
TYPE_CODE = "DYNAMIC_V0"
MURMUR_HASH = 1
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_HEADER = struct.Struct(">iibi")


def bit_size(num_entries: int, fpp: float) -> int:
    """Bits per row, as Hudi's ``BloomFilterUtils.getBitSize``."""
    return math.ceil(num_entries * (-math.log(fpp) / (math.log(2) ** 2)))


def num_hashes(bits: int, num_entries: int) -> int:
    """Hash functions per key, as Hudi's ``BloomFilterUtils.getNumHashes``."""
    return math.ceil(math.log(2) * bits / num_entries)


def murmur_hash(data: bytes, seed: int = 0) -> int:
    """Hadoop ``MurmurHash.hash`` of ``data`` with ``seed``, as a signed 32-bit int (reference)."""
    length = len(data)
    h = (seed ^ length) & _MASK
    n4 = length >> 2
    for i in range(n4):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    left = length - (n4 << 2)
    if left:
        tail = data[n4 << 2 :]

        def sx(b: int) -> int:  # Java sign-extended byte
            return b | 0xFFFFFF00 if b >= 0x80 else b

        # Hadoop's tail: data[len-3] << 16, data[len-2] << 8, data[len-1] (first tail byte highest)
        for j, b in enumerate(tail):
            h ^= (sx(b) << (8 * (left - 1 - j))) & _MASK
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h >= 1 << 31 else h


_M32 = np.uint32(_M)
BLOCK_KEYS = 1 << 16
"""Keys hashed together: their uint32 work arrays stay in the CPU cache over the hash rounds."""
_S13, _S15, _S24 = np.uint32(13), np.uint32(15), np.uint32(24)


class KeyHasher:
    """Hadoop MurmurHash of many keys at once, chained over the hash functions (numpy, uint32).

    Keys are ordered by byte length (``order``; None when they already are) and every
    4-byte block of a length group is one uint32 column, read little-endian straight from the
    Arrow data buffer; so the per-seed work is a few wrapping uint32 multiplications and xors per
    block. The seed-independent block mixing and the sign-extended tail are computed once.
    Results come in grouped order: ``values[order]`` lines keys up with them.
    """

    def __init__(self, keys: pa.Array | pa.ChunkedArray) -> None:
        keys, off_type = _as_binary(keys)
        if keys.null_count:
            raise ValueError("bloom filter keys must not be null")
        n = self.n = len(keys)
        self.order: np.ndarray | None = None
        # (start, stop, byte length, mixed blocks, tail) per length group, in grouped order
        self.groups: list[tuple[int, int, int, list[np.ndarray], np.ndarray | None]] = []
        if n == 0:
            return
        bufs = keys.buffers()
        offsets = np.frombuffer(bufs[1], off_type, n + 1, keys.offset * np.dtype(off_type).itemsize)
        offsets = offsets.astype(np.int64)
        starts = offsets[:-1]
        lengths = np.diff(offsets)
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo == 0:
            raise ValueError("bloom filter keys must not be empty")
        first, end = int(offsets[0]), int(offsets[-1])
        data = np.zeros(end - first + 3, np.uint8)  # padding: a 4-byte read may start at any byte
        data[: end - first] = np.frombuffer(bufs[2], np.uint8, end - first, first)
        if first:
            starts = starts - first
        # every byte offset as the start of a little-endian uint32 (unaligned, overlapping view)
        words = np.ndarray((end - first,), dtype="<u4", buffer=data, strides=(1,))
        if lo == hi:
            bounds = [(0, n, lo)]
        else:
            if (lengths[1:] < lengths[:-1]).any():  # not yet by length (sequential ids are)
                self.order = np.argsort(lengths, kind="stable")
                lengths = lengths[self.order]
                starts = starts[self.order]
            cuts = np.flatnonzero(np.diff(lengths)) + 1
            edges = [0, *cuts.tolist(), n]
            bounds = [(a, b, int(lengths[a])) for a, b in pairwise(edges)]
        for a, b, length in bounds:
            blocks, tail = _mixed_blocks(words, data, starts[a:b], length)
            self.groups.append((a, b, length, blocks, tail))

    def ranges(self, block: int | None = None) -> list[tuple[int, int]]:
        """``[start, stop)`` ranges of at most ``block`` keys (grouped order) covering all keys."""
        block = block or BLOCK_KEYS
        return [(a, min(a + block, self.n)) for a in range(0, self.n, block)]

    def hashes(self, nb_hash: int, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """``h_0 .. h_{nb_hash-1}`` (uint32) of the keys ``start:stop`` (grouped order):
        ``h_j = murmur(key, h_{j-1})``, ``h_-1 = 0``.

        Each yielded array is reused for the next hash: copy it to keep it.
        """
        stop = self.n if stop is None else stop
        h = np.empty(stop - start, np.uint32)
        spans = []
        for a, b, length, blocks, tail in self.groups:
            lo, hi = max(a, start), min(b, stop)
            if lo < hi:
                cut = slice(lo - a, hi - a)
                spans.append(
                    (h[lo - start : hi - start], length, [k[cut] for k in blocks], None if tail is None else tail[cut])
                )
        for j in range(nb_hash):
            for g, length, blocks, tail in spans:
                if j == 0:
                    g.fill(length)
                else:
                    g ^= np.uint32(length)
                for k in blocks:
                    g *= _M32
                    g ^= k
                if tail is not None:
                    g ^= tail
                    g *= _M32
            h ^= h >> _S13
            h *= _M32
            h ^= h >> _S15
            yield h

    def positions(
        self, nb_hash: int, vector_size: int, start: int = 0, stop: int | None = None
    ) -> Iterator[np.ndarray]:
        """Bit positions (uint32) of the keys ``start:stop`` (grouped order) for each hash function:
        Java ``abs(h % vectorSize)``. Each yielded array is reused for the next hash."""
        vs = np.uint32(vector_size)
        stop = self.n if stop is None else stop
        mag, q = np.empty(stop - start, np.uint32), np.empty(stop - start, np.uint32)
        for h in self.hashes(nb_hash, start, stop):
            # abs(signed % vs) == abs(signed) % vs; int32 abs(-2**31) wraps to 2**31 as uint32
            np.abs(h.view(np.int32), out=mag.view(np.int32))
            np.floor_divide(mag, vs, out=q)
            q *= vs
            mag -= q
            yield mag


def _as_binary(keys: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, type[np.signedinteger[Any]]]:
    """The keys as one binary array (a view where the type allows) and its offsets' integer type."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    if pa.types.is_large_string(keys.type) or pa.types.is_large_binary(keys.type):
        return (keys.view(pa.large_binary()) if pa.types.is_large_string(keys.type) else keys), np.int64
    return (keys.view(pa.binary()) if pa.types.is_string(keys.type) else pc.cast(keys, pa.binary())), np.int32


def _mixed_blocks(
    words: np.ndarray, data: np.ndarray, st: np.ndarray, length: int
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Murmur's seed-independent mixing of every whole 4-byte block of keys of one ``length``
    starting at byte offsets ``st``, and their sign-extended tail (None when length % 4 == 0)."""
    n4 = length >> 2
    blocks = []
    for i in range(n4):
        k = words[st + 4 * i] if i else words[st]  # a gather: a fresh array
        k *= _M32
        k ^= k >> _S24
        k *= _M32
        blocks.append(k.astype(np.uint32, copy=False))
    left = length - (n4 << 2)
    if not left:
        return blocks, None
    at = st + (n4 << 2)
    tail = np.zeros(len(st), np.uint32)
    for j in range(left):
        # Java sign-extends the byte, then shifts it into place: Hadoop takes
        # data[len-3] << 16, data[len-2] << 8, data[len-1], the first tail byte highest
        byte = data[at + j].view(np.int8).astype(np.int32).view(np.uint32)
        shift = 8 * (left - 1 - j)
        tail ^= byte << np.uint32(shift) if shift else byte
    return blocks, tail


_SCRATCH = threading.local()
SCRATCH_MAX_BITS = 1 << 23
"""A thread keeps its bit scratch up to this size (Hudi's default filter: 2 rows of 2.6M bits)."""


def _cleared_bits(n: int) -> np.ndarray:
    """``n`` False bools from this thread's scratch array: a filter row is 2.6M bits, and a fresh
    array per file means page faults on fresh memory every time (costly, and variable, here)."""
    held: np.ndarray | None = getattr(_SCRATCH, "bits", None)
    if held is None or len(held) < n:
        held = np.zeros(n, np.bool_)
        if n <= SCRATCH_MAX_BITS:
            _SCRATCH.bits = held
        return held
    bits = held[:n]
    bits.fill(False)
    return bits


def hash_positions(keys: pa.Array, nb_hash: int, vector_size: int) -> list[tuple[pa.Array | None, list[pa.Array]]]:
    """Bit positions of every key: ``[(row indices or None for all, [positions of hash 0, 1, ...])]``."""
    hasher = KeyHasher(keys)
    idx = None if hasher.order is None else pa.array(hasher.order)
    return [(idx, [pa.array(p.astype(np.int64)) for p in hasher.positions(nb_hash, vector_size)])]


@dataclass
class DynamicBloomFilter:
    """A Hudi DYNAMIC_V0 bloom filter: ``rows`` bit sets of ``vector_size`` bits."""

    num_entries: int = DEFAULT_NUM_ENTRIES
    fpp: float = DEFAULT_FPP
    max_entries: int = DEFAULT_MAX_ENTRIES

    def __post_init__(self) -> None:
        self.vector_size = bit_size(self.num_entries, self.fpp)
        self.nb_hash = num_hashes(self.vector_size, self.num_entries)
        self.count = 0
        self.rows: list[bytes] = [bytes((self.vector_size + 7) // 8)]

    @property
    def _max_rows(self) -> int:
        return max(1, math.ceil(self.max_entries / self.num_entries))

    def _rows_of(self, n: int) -> np.ndarray:
        """The row each of the next ``n`` keys goes to (Hudi's ``HoodieDynamicBoundedBloomFilter.add``).

        Key ``k`` (counting every key ever added) fills row ``k // nr`` while ``k < cap``
        (``cap = rows * nr``); key ``cap`` goes to row 0, then key ``cap + 1 + j`` to row ``j % rows``.
        """
        nr, rmax = self.num_entries, self._max_rows
        cap = rmax * nr
        k = np.arange(self.count, self.count + n, dtype=np.int64)
        return np.where(k < cap, k // nr, np.where(k == cap, 0, (k - cap - 1) % rmax))

    def copy(self) -> DynamicBloomFilter:
        """An independent filter with the same bits (``add_keys`` replaces rows, never edits them)."""
        twin = copy.copy(self)
        twin.rows = list(self.rows)
        return twin

    def add_keys(self, keys: pa.Array | pa.ChunkedArray) -> None:
        """Add UTF-8 keys in order (the order of the rows in the base file)."""
        n = len(keys)
        if n == 0:
            return
        hasher = KeyHasher(keys)
        rows_of = self._rows_of(n)
        nrows = max(len(self.rows), int(rows_of.max()) + 1)
        used = np.flatnonzero(np.bincount(rows_of, minlength=nrows)).tolist()
        vs = self.vector_size
        # one bool per bit, the used rows side by side
        bits = _cleared_bits(len(used) * vs)
        base = None
        if len(used) > 1:
            slot = np.zeros(nrows, np.intp)
            slot[used] = np.arange(len(used), dtype=np.intp) * vs
            base = slot[rows_of if hasher.order is None else rows_of[hasher.order]]
        # positions as native indices: numpy converts uint32 indices element by element (2x slower)
        at = np.empty(min(n, BLOCK_KEYS), np.intp)
        for a, b in hasher.ranges():  # a block of keys at a time: the hashing stays in cache
            index = at[: b - a]
            for pos in hasher.positions(self.nb_hash, vs, a, b):
                if base is None:
                    np.copyto(index, pos, casting="unsafe")
                else:
                    np.add(base[a:b], pos, out=index, casting="unsafe")
                bits[index] = True
        while len(self.rows) < nrows:
            self.rows.append(bytes((vs + 7) // 8))
        for s, r in enumerate(used):
            packed = np.packbits(bits[s * vs : (s + 1) * vs], bitorder="little")
            packed |= np.frombuffer(self.rows[r], np.uint8)
            self.rows[r] = packed.tobytes()
        self.count += n

    @property
    def current_nb_record(self) -> int:
        nr, cap = self.num_entries, self._max_rows * self.num_entries
        if self.count > cap:
            return nr + (self.count - cap)
        if self.count == 0:
            return 0
        return self.count - (len(self.rows) - 1) * nr

    def row_bits(self) -> list[np.ndarray]:
        """Each row's bit vector as a bool array of ``vector_size`` entries."""
        vs = self.vector_size
        return [
            np.unpackbits(np.frombuffer(r, np.uint8), count=vs, bitorder="little").view(np.bool_) for r in self.rows
        ]

    def might_contain(self, keys: pa.Array | pa.ChunkedArray, row_bits: list[np.ndarray] | None = None) -> pa.Array:
        """Boolean array: True where a key may be in the filter (any row has all its bits)."""
        n = len(keys)
        if n == 0:
            return pa.array([], pa.bool_())
        rows = self.row_bits() if row_bits is None else row_bits
        hasher = KeyHasher(keys)
        hits = [np.ones(n, np.bool_) for _ in rows]
        for a, b in hasher.ranges():
            for pos in hasher.positions(self.nb_hash, self.vector_size, a, b):
                for hit, bits in zip(hits, rows, strict=True):
                    hit[a:b] &= bits[pos]
        grouped = np.logical_or.reduce(hits) if len(hits) > 1 else hits[0]
        if hasher.order is None:
            return pa.array(grouped, pa.bool_())
        result = np.empty(n, np.bool_)
        result[hasher.order] = grouped
        return pa.array(result, pa.bool_())

    def serialize(self) -> bytes:
        header = _HEADER.pack(-1, self.nb_hash, MURMUR_HASH, self.vector_size)
        parts = [header, struct.pack(">iii", self.num_entries, self.current_nb_record, len(self.rows))]
        for row in self.rows:
            parts.append(header)
            parts.append(row)
        return b"".join(parts)

    def to_footer(self) -> str:
        """The Base64 text stored under ``org.apache.hudi.bloomfilter``."""
        return base64.b64encode(self.serialize()).decode("ascii")

    @classmethod
    def from_footer(cls, text: str | bytes) -> DynamicBloomFilter:
        """Parse a DYNAMIC_V0 footer value (Spark's or ours)."""
        raw = base64.b64decode(text)
        version, nb_hash, hash_type, vector_size = _HEADER.unpack_from(raw, 0)
        if version != -1 or hash_type != MURMUR_HASH:
            raise ValueError(f"unsupported bloom filter header version={version} hashType={hash_type}")
        nr, current, nrows = struct.unpack_from(">iii", raw, _HEADER.size)
        pos = _HEADER.size + 12
        nbytes = (vector_size + 7) // 8
        rows = []
        for _ in range(nrows):
            pos += _HEADER.size
            rows.append(raw[pos : pos + nbytes])
            pos += nbytes
        bf = cls.__new__(cls)
        bf.num_entries, bf.fpp, bf.max_entries = nr, DEFAULT_FPP, DEFAULT_MAX_ENTRIES
        bf.vector_size, bf.nb_hash, bf.rows = vector_size, nb_hash, rows
        # reconstruct the count from the row state (exact while below the cap)
        cap = bf._max_rows * nr
        bf.count = (nrows - 1) * nr + current if current <= nr else cap + current - nr
        return bf
