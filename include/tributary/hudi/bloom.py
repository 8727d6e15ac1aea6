"""Hudi's DYNAMIC_V0 bloom filter, byte-compatible with Spark-written base files.

Hudi stores ``org.apache.hudi.bloomfilter`` in every base file footer: the Base64 of a
``HoodieDynamicBoundedBloomFilter`` serialised with Java ``DataOutput`` (big-endian):

    filter header: int version=-1, int nbHash, byte hashType (1 = Hadoop MurmurHash), int vectorSize
    int nr (entries per row), int currentNbRecord, int rows, then per row: header + bit vector

Each row's bit vector is ``ceil(vectorSize / 8)`` bytes, bit ``i`` in byte ``i // 8`` at
position ``i % 8`` (LSB first). A key is added to row ``r`` at the ``nbHash`` positions
``abs(h_j % vectorSize)`` where ``h_0 = murmur(key, 0)`` and ``h_j = murmur(key, h_{j-1})``
(Hadoop ``MurmurHash``, 32-bit, signed-byte tail). Rows fill with ``nr`` keys each until
``rows * nr >= maxNr``; after that keys go round-robin over the rows.

Hashing is vectorised with pyarrow compute (no numpy here): keys are grouped by byte length
so every 4-byte block is one column of a fixed-size list.
"""

from __future__ import annotations

import base64
import math
import struct
from dataclasses import dataclass

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

        if left >= 3:
            h ^= (sx(tail[2]) << 16) & _MASK
        if left >= 2:
            h ^= (sx(tail[1]) << 8) & _MASK
        h ^= sx(tail[0])
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h >= 1 << 31 else h


def _u32(value: int) -> pa.Scalar:
    return pa.scalar(value, pa.uint32())


_MUL = _u32(_M)


def _mul(a: pa.Array) -> pa.Array:
    return pc.multiply(a, _MUL)


def _hash_positions_fixed(data: pa.Buffer, n: int, length: int, nb_hash: int, vector_size: int) -> list[pa.Array]:
    """Bit positions (int64) of ``n`` keys of ``length`` bytes laid out back to back in ``data``."""
    flat = pa.Array.from_buffers(pa.uint8(), n * length, [None, data])
    rows = pa.FixedSizeListArray.from_arrays(flat, length)
    columns = [pc.cast(pc.list_element(rows, j), pa.uint32()) for j in range(length)]
    n4 = length >> 2
    blocks = []
    for i in range(n4):
        b0, b1, b2, b3 = columns[4 * i : 4 * i + 4]
        k = pc.bit_wise_or(
            pc.bit_wise_or(b0, pc.shift_left(b1, _u32(8))),
            pc.bit_wise_or(pc.shift_left(b2, _u32(16)), pc.shift_left(b3, _u32(24))),
        )
        k = _mul(k)
        k = pc.bit_wise_xor(k, pc.shift_right(k, _u32(24)))
        blocks.append(_mul(k))
    left = length - (n4 << 2)
    tail: list[pa.Array] = []
    if left:
        for j in range(left):
            b = columns[(n4 << 2) + j]
            signed = pc.if_else(pc.greater_equal(b, _u32(0x80)), pc.bit_wise_or(b, _u32(0xFFFFFF00)), b)
            tail.append(pc.shift_left(signed, _u32(8 * j)) if j else signed)
    out: list[pa.Array] = []
    seed: pa.Array | None = None
    len_scalar = _u32(length)
    vs = _u32(vector_size)
    for _ in range(nb_hash):
        h = pa.repeat(len_scalar, n) if seed is None else pc.bit_wise_xor(seed, len_scalar)
        for k in blocks:
            h = pc.bit_wise_xor(_mul(h), k)
        if left:
            for t in reversed(tail):
                h = pc.bit_wise_xor(h, t)
            h = _mul(h)
        h = pc.bit_wise_xor(h, pc.shift_right(h, _u32(13)))
        h = _mul(h)
        h = pc.bit_wise_xor(h, pc.shift_right(h, _u32(15)))
        seed = h
        # Java: abs(signed % vectorSize) == abs(signed) % vectorSize; |h| fits in uint32
        mag = pc.if_else(pc.greater_equal(h, _u32(1 << 31)), pc.subtract(_u32(0), h), h)
        out.append(pc.subtract(mag, pc.multiply(pc.divide(mag, vs), vs)))
    return out


def hash_positions(keys: pa.Array, nb_hash: int, vector_size: int) -> list[tuple[pa.Array, list[pa.Array]]]:
    """For each distinct key byte length: (row indices of those keys, list of position arrays)."""
    keys = pc.cast(keys, pa.binary()) if not pa.types.is_binary(keys.type) else keys
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    lengths = pc.binary_length(keys)
    result = []
    uniq = pc.unique(lengths).to_pylist()
    for length in uniq:
        if length == 0:
            raise ValueError("bloom filter keys must not be empty")
        if len(uniq) == 1:
            idx = None
            group = keys
        else:
            idx = pc.indices_nonzero(pc.equal(lengths, length))
            group = pc.take(keys, idx)
        fixed = pc.cast(group, pa.binary(length))
        data = fixed.buffers()[1]
        offset = fixed.offset * length
        data = data.slice(offset, len(group) * length)
        result.append((idx, _hash_positions_fixed(data, len(group), length, nb_hash, vector_size)))
    return result


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

    def _row_slices(self, n: int) -> list[tuple[int, pa.Array | None]]:
        """(row, indices into the next ``n`` keys) — None meaning all of them."""
        nr, rmax, start = self.num_entries, self._max_rows, self.count
        cap = rmax * nr
        out: list[tuple[int, pa.Array | None]] = []
        end = start + n
        if end <= nr:
            return [(0, None)]
        # filling phase: key k < cap goes to row k // nr
        k = start
        while k < min(end, cap):
            row = k // nr
            stop = min(end, cap, (row + 1) * nr)
            out.append((row, _arange(k - start, stop - start)))
            k = stop
        if end > cap:
            # key `cap` goes to row 0, then key cap+1+j to row j % rmax
            first = max(start, cap)
            if first == cap:
                out.append((0, pa.array([cap - start], pa.int64())))
                first += 1
            j0 = first - cap - 1
            rest = _arange(first - start, end - start)
            for r in range(rmax):
                offset = (r - j0) % rmax
                picked = _strided(rest, offset, rmax)
                if len(picked):
                    out.append((r, picked))
        return out

    def add_keys(self, keys: pa.Array | pa.ChunkedArray) -> None:
        """Add UTF-8 keys in order (the order of the rows in the base file)."""
        if isinstance(keys, pa.ChunkedArray):
            keys = keys.combine_chunks()
        n = len(keys)
        if n == 0:
            return
        slices = self._row_slices(n)
        needed_rows = max(r for r, _ in slices) + 1
        while len(self.rows) < needed_rows:
            self.rows.append(bytes((self.vector_size + 7) // 8))
        per_row: dict[int, list[pa.Array]] = {}
        for r, idx in slices:
            subset = keys if idx is None else pc.take(keys, idx)
            for _, positions in _hash_parallel(subset, self.nb_hash, self.vector_size):
                per_row.setdefault(r, []).extend(positions)
        if len(per_row) > 1 and n >= 200_000:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(2) as pool:  # pyarrow releases the GIL
                done = dict(
                    pool.map(
                        lambda item: (item[0], _set_bits(self.rows[item[0]], item[1], self.vector_size)),
                        per_row.items(),
                    )
                )
            for r, row in done.items():
                self.rows[r] = row
        else:
            for r, chunks in per_row.items():
                self.rows[r] = _set_bits(self.rows[r], chunks, self.vector_size)
        self.count += n

    @property
    def current_nb_record(self) -> int:
        nr, cap = self.num_entries, self._max_rows * self.num_entries
        if self.count > cap:
            return nr + (self.count - cap)
        if self.count == 0:
            return 0
        return self.count - (len(self.rows) - 1) * nr

    def might_contain(self, keys: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Boolean array: True where a key may be in the filter (any row has all its bits)."""
        if isinstance(keys, pa.ChunkedArray):
            keys = keys.combine_chunks()
        result = pa.array([False] * len(keys), pa.bool_())
        if len(keys) == 0:
            return result
        row_arrays = [pa.Array.from_buffers(pa.bool_(), self.vector_size, [None, pa.py_buffer(r)]) for r in self.rows]
        for idx, positions in hash_positions(keys, self.nb_hash, self.vector_size):
            group_hit: pa.Array | None = None
            for bits in row_arrays:
                hit: pa.Array | None = None
                for p in positions:
                    h = pc.take(bits, p)
                    hit = h if hit is None else pc.and_(hit, h)
                group_hit = hit if group_hit is None else pc.or_(group_hit, hit)
            assert group_hit is not None
            result = group_hit if idx is None else _scatter_or(result, idx, group_hit)
        return result

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


def _arange(start: int, stop: int) -> pa.Array:
    """int64 ``start .. stop-1`` without a Python loop."""
    n = stop - start
    if n <= 0:
        return pa.array([], pa.int64())
    return pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), start - 1)


def _strided(values: pa.Array, offset: int, step: int) -> pa.Array:
    """``values[offset::step]`` via a fixed-size-list view."""
    values = values.slice(offset)
    n = len(values)
    if n == 0:
        return values
    pad = (-n) % step
    if pad:
        values = pa.concat_arrays([values, pa.nulls(pad, values.type)])
    lists = pa.FixedSizeListArray.from_arrays(values, step)
    return pc.list_element(lists, 0)


def _hash_parallel(keys: pa.Array, nb_hash: int, vector_size: int) -> list[tuple[pa.Array | None, list[pa.Array]]]:
    """hash_positions, split over two threads for big inputs (pyarrow releases the GIL).

    Only the position lists are used by callers that merge them, so group indices are dropped.
    """
    n = len(keys)
    if n < 200_000:
        return hash_positions(keys, nb_hash, vector_size)
    from concurrent.futures import ThreadPoolExecutor

    half = n // 2
    with ThreadPoolExecutor(2) as pool:
        parts = list(
            pool.map(lambda a: hash_positions(a, nb_hash, vector_size), [keys.slice(0, half), keys.slice(half)])
        )
    return [g for part in parts for g in part]


def _scatter_or(result: pa.Array, idx: pa.Array, values: pa.Array) -> pa.Array:
    """``result[idx[i]] |= values[i]`` for a boolean ``result``."""
    hit_idx = pc.filter(idx, values)
    mask = pc.is_in(pa.array(range(len(result)), pa.int64()), value_set=hit_idx)
    return pc.or_(result, mask)


_UNIVERSE: dict[int, pa.Array] = {}


def _universe(vector_size: int) -> pa.Array:
    if vector_size not in _UNIVERSE:
        _UNIVERSE.clear()
        _UNIVERSE[vector_size] = pc.cast(_arange(0, vector_size), pa.uint32())
    return _UNIVERSE[vector_size]


def _set_bits(row: bytes, positions: list[pa.Array], vector_size: int) -> bytes:
    """Set the bits at ``positions`` in the LSB-first bit vector ``row``.

    An Arrow boolean array's data buffer is exactly that layout, so membership of every bit
    index in the position set *is* the serialised row.
    """
    allpos = pc.unique(pa.chunked_array(positions, pa.uint32()).combine_chunks())
    if len(allpos) < 400_000:  # probing the whole universe costs more than a loop here
        buf = bytearray(row)
        for p in allpos.to_pylist():
            buf[p >> 3] |= 1 << (p & 7)
        return bytes(buf)
    bits = pc.is_in(_universe(vector_size), value_set=allpos)
    if any(row):
        bits = pc.or_(bits, pa.Array.from_buffers(pa.bool_(), vector_size, [None, pa.py_buffer(row)]))
    nbytes = (vector_size + 7) // 8
    data = bits.buffers()[1].to_pybytes()[:nbytes]
    tail = vector_size % 8
    if tail:  # bits past vectorSize are zero in Java's serialisation
        data = data[:-1] + bytes([data[-1] & ((1 << tail) - 1)])
    return data
