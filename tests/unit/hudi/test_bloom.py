"""The bloom filter footer is byte-for-byte Spark's (Hadoop MurmurHash, DYNAMIC_V0)."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import HUDI_FIXTURES
from tributary.hudi import bloom
from tributary.hudi.bloom import DynamicBloomFilter, KeyHasher, hash_positions, murmur_hash

ZIPS = sorted((HUDI_FIXTURES / "spark-written").glob("*.zip"))


@pytest.fixture(scope="module")
def base_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("fixtures")
    out = []
    for z in ZIPS:
        dest = root / z.stem
        with zipfile.ZipFile(z) as zf:
            zf.extractall(dest)
        out += [p for p in dest.rglob("*.parquet") if "__MACOSX" not in p.parts]
    return out


def test_vectorised_hash_matches_reference() -> None:
    keys = ["a", "ab", "abc", "abcd", "abcde", "id:1,name:Alice", "héllo wörld ñ", "x" * 37, "\u00ff\u00fe"]
    groups = hash_positions(pa.array(keys), 5, 2_588_990)
    got: dict[int, list[int]] = {}
    for idx, positions in groups:
        rows = list(range(len(keys))) if idx is None else idx.to_pylist()
        for j, row in enumerate(rows):
            got[row] = [p[j].as_py() for p in positions]
    for i, k in enumerate(keys):
        h, expected = 0, []
        for _ in range(5):
            h = murmur_hash(k.encode(), h)
            expected.append(abs(h) % 2_588_990)
        assert got[i] == expected, k


def test_footer_equals_spark_for_same_keys(base_files: list[Path]) -> None:
    compared = 0
    for path in base_files:
        md = pq.read_metadata(path).metadata
        spark = md.get(b"org.apache.hudi.bloomfilter")
        if spark is None:  # populate.meta.fields=false tables carry no bloom filter
            continue
        keys = pq.read_table(path, columns=["_hoodie_record_key"]).column(0)
        theirs = DynamicBloomFilter.from_footer(spark)
        if not all(theirs.might_contain(keys).to_pylist()):
            # one Spark fixture file's filter holds none of the file's own keys (edited test data);
            # a byte comparison is meaningless there
            continue
        ours = DynamicBloomFilter()
        ours.add_keys(keys)
        assert ours.to_footer().encode() == spark, path.name
        compared += 1
    assert compared >= 15


def test_dynamic_rows_and_round_trip() -> None:
    bf = DynamicBloomFilter(num_entries=10, fpp=0.01, max_entries=25)
    bf.add_keys(pa.array([f"k{i}" for i in range(40)]))
    assert len(bf.rows) == 3  # rows fill 10 keys each until rows*nr >= max, then round-robin
    assert bf.current_nb_record == 10 + (40 - 30)
    again = DynamicBloomFilter.from_footer(bf.to_footer())
    assert again.serialize() == bf.serialize()
    assert all(again.might_contain(pa.array([f"k{i}" for i in range(40)])).to_pylist())
    misses = again.might_contain(pa.array([f"other-{i}" for i in range(200)])).to_pylist()
    assert sum(misses) < 100


_ALPHABET = "abcXYZ019-_:,/ é ñ ß 漢字 🙂 \u00ff"


def _random_keys(n: int, seed: int, max_len: int = 70) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(_ALPHABET) for _ in range(rnd.randint(1, max_len))) for _ in range(n)]


def test_numpy_murmur_equals_scalar_reference_on_random_keys() -> None:
    keys = [*_random_keys(3_000, 1), "a", "ab", "abc", "abcd", "\u00ff", "🙂", "x" * 4096]
    hasher = KeyHasher(pa.array(keys))
    order = list(range(len(keys))) if hasher.order is None else hasher.order.tolist()
    chains: list[list[int]] = [[] for _ in keys]
    for h in hasher.hashes(4):
        for pos, value in zip(order, h.view(np.int32).tolist(), strict=True):
            chains[pos].append(value)
    for key, got in zip(keys, chains, strict=True):
        h, expected = 0, []
        for _ in range(4):
            h = murmur_hash(key.encode(), h)
            expected.append(h)
        assert got == expected, key


def test_numpy_murmur_on_sliced_chunked_and_large_string_keys() -> None:
    keys = _random_keys(500, 2)
    expected = [abs(murmur_hash(k.encode())) % 1_000_003 for k in keys[100:400]]
    for arr in (
        pa.array(keys).slice(100, 300),
        pa.chunked_array([pa.array(keys[100:250]), pa.array(keys[250:400])]),
        pa.array(keys[100:400], pa.large_string()),
    ):
        hasher = KeyHasher(arr)
        pos = next(hasher.positions(1, 1_000_003))
        got = np.empty_like(pos)
        got[np.arange(len(pos)) if hasher.order is None else hasher.order] = pos
        assert got.tolist() == expected


def _reference_filter(batches: list[list[str]], nr: int, fpp: float, max_entries: int) -> bytes:
    """A scalar DYNAMIC_V0 filter, key by key, as Hudi's HoodieDynamicBoundedBloomFilter.add."""
    ref = DynamicBloomFilter(num_entries=nr, fpp=fpp, max_entries=max_entries)
    vs, rmax = ref.vector_size, ref._max_rows
    rows = [bytearray((vs + 7) // 8)]
    count = 0
    for batch in batches:
        for key in batch:
            if count < rmax * nr:
                row = count // nr
            elif count == rmax * nr:
                row = 0
            else:
                row = (count - rmax * nr - 1) % rmax
            while len(rows) <= row:
                rows.append(bytearray((vs + 7) // 8))
            h = 0
            for _ in range(ref.nb_hash):
                h = murmur_hash(key.encode(), h)
                p = abs(h) % vs
                rows[row][p >> 3] |= 1 << (p & 7)
            count += 1
    ref.rows, ref.count = [bytes(r) for r in rows], count
    return ref.serialize()


@pytest.mark.parametrize(
    ("nr", "fpp", "max_entries", "batches"),
    [(10, 0.01, 25, [40, 3, 17]), (1_000, 0.001, 2_500, [700, 900, 1_200, 5]), (60_000, 1e-9, 100_000, [2_000])],
)
def test_dynamic_filter_equals_scalar_reference(
    nr: int, fpp: float, max_entries: int, batches: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bloom, "BLOCK_KEYS", 97)  # many key blocks, cutting across length groups
    keys = [_random_keys(b, 10 + i) for i, b in enumerate(batches)]
    bf = DynamicBloomFilter(num_entries=nr, fpp=fpp, max_entries=max_entries)
    for batch in keys:
        bf.add_keys(pa.array(batch))
    assert bf.serialize() == _reference_filter(keys, nr, fpp, max_entries)
    again = DynamicBloomFilter.from_footer(bf.to_footer())
    assert all(again.might_contain(pa.array([k for b in keys for k in b])).to_pylist())


def test_empty_or_null_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        DynamicBloomFilter().add_keys(pa.array(["a", ""]))
    with pytest.raises(ValueError, match="null"):
        DynamicBloomFilter().add_keys(pa.array(["a", None]))


def test_numpy_murmur_keys_already_by_length() -> None:
    """Sequential ids come ordered by length: hashed in place, no reordering."""
    keys = [str(i) for i in range(0, 120_000, 7)]
    hasher = KeyHasher(pa.array(keys))
    assert hasher.order is None and len(hasher.groups) == 6
    got = next(hasher.hashes(1)).view(np.int32).tolist()
    assert got == [murmur_hash(k.encode()) for k in keys]
