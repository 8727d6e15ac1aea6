"""The bloom filter footer is byte-for-byte Hudi's (Hadoop MurmurHash, DYNAMIC_V0).

The reference is Hudi's own Java code, run at test time on both bundles (tests/hudi_java.py).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from tests.hudi_java import HUDI_VERSIONS, run_java
from tributary.hudi import bloom
from tributary.hudi.bloom import DynamicBloomFilter, KeyHasher, hash_positions, murmur_hash

# every byte length mod 4, 2- and 3-byte ids, 15-byte complex keys, sign-extended tail bytes
EDGE_KEYS = [
    *[str(i) for i in range(0, 1_000, 7)],
    "k1",
    "0:x",
    "id:1",
    "id:1,name:Alice",
    "id:12,name:Bob",
    "a",
    "ab",
    "abc",
    "abcd",
    "abcde",
    "é",
    "éa",
    "aé",
    "漢",
    "🙂",
    "x🙂",
    "\u00ff\u00fe",
    "uuid-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
]
SMALL = {"num_entries": 10, "fpp": 0.01, "max_entries": 25}
DEFAULT = {"num_entries": 60_000, "fpp": 1e-9, "max_entries": 100_000}


def _random_keys(n: int, seed: int, max_len: int = 70) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(_ALPHABET) for _ in range(rnd.randint(1, max_len))) for _ in range(n)]


_ALPHABET = "abcXYZ019-_:,/ é ñ ß 漢字 🙂 \u00ff"
RANDOM_KEYS = _random_keys(400, 99, 23)
SPREAD_KEYS = [f"id:{i},name:n{i % 97}" for i in range(40)]


@pytest.fixture(scope="module", params=HUDI_VERSIONS)
def java(request: pytest.FixtureRequest) -> dict[str, Any]:
    """What Hudi's Java classes compute for the keys above (one JVM per Hudi version)."""
    keys = EDGE_KEYS + RANDOM_KEYS
    chains, footer, small_footer = run_java(
        request.param,
        [
            {"op": "murmur", "keys": keys, "rounds": 3},
            {"op": "bloom", "keys": keys, **DEFAULT},
            {"op": "bloom", "keys": SPREAD_KEYS, **SMALL},
        ],
    )
    return {"keys": keys, "chains": chains, "footer": footer, "small_footer": small_footer}


def test_murmur_equals_hudi_java_for_every_length(java: dict[str, Any]) -> None:
    expected = dict(zip(java["keys"], java["chains"], strict=True))
    assert {len(k.encode()) % 4 for k in java["keys"]} == {0, 1, 2, 3}
    for key, chain in expected.items():
        h, got = 0, []
        for _ in range(3):
            h = murmur_hash(key.encode(), h)
            got.append(h)
        assert got == chain, key
    hasher = KeyHasher(pa.array(java["keys"]))
    order = list(range(len(java["keys"]))) if hasher.order is None else hasher.order.tolist()
    firsts = next(hasher.hashes(1)).view(np.int32).tolist()
    for pos, value in zip(order, firsts, strict=True):
        assert value == expected[java["keys"][pos]][0], java["keys"][pos]


def test_footer_equals_hudi_java_for_same_keys(java: dict[str, Any]) -> None:
    ours = DynamicBloomFilter()
    ours.add_keys(pa.array(java["keys"]))
    assert ours.to_footer() == java["footer"]
    small = DynamicBloomFilter(**SMALL)
    small.add_keys(pa.array(SPREAD_KEYS))
    assert len(small.rows) == 3  # the round-robin rows too
    assert small.to_footer() == java["small_footer"]


def test_java_footer_is_read_and_holds_every_key(java: dict[str, Any]) -> None:
    for text, keys in ((java["footer"], java["keys"]), (java["small_footer"], SPREAD_KEYS)):
        theirs = DynamicBloomFilter.from_footer(text)
        assert all(theirs.might_contain(pa.array(keys)).to_pylist())
        assert theirs.to_footer() == text
    theirs = DynamicBloomFilter.from_footer(java["footer"])
    misses = theirs.might_contain(pa.array([f"absent-{i}" for i in range(500)])).to_pylist()
    assert sum(misses) == 0


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


def test_footer_decodes_once_and_hands_out_independent_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Locating keys and rewriting a file share one decoded filter; a rewrite adding its inserts
    to its copy never changes what the next caller gets."""
    from tributary.hudi.base_file import Footer

    bf = DynamicBloomFilter(num_entries=10, fpp=0.01, max_entries=25)
    bf.add_keys(pa.array([f"k{i}" for i in range(12)]))
    footer = Footer(12, "k0", "k9", bf.to_footer().encode(), pa.schema([]))
    decoded = []
    parse = DynamicBloomFilter.from_footer
    monkeypatch.setattr(DynamicBloomFilter, "from_footer", lambda text: decoded.append(text) or parse(text))
    first = footer.bloom()
    assert first is not None and first.serialize() == bf.serialize()
    first.add_keys(pa.array([f"new{i}" for i in range(30)]))
    second = footer.bloom()
    assert second is not None and second.serialize() == bf.serialize() != first.serialize()
    assert second is not first and footer.bloom() is not second
    assert len(decoded) == 1


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


def test_filters_built_one_after_another_in_a_thread_hold_only_their_own_keys() -> None:
    """The bit scratch a thread reuses (see ``_cleared_bits``) starts clear for every filter: a
    smaller filter after a bigger one, and the bigger one again, equal the scalar reference."""
    for nr, fpp, max_entries, n, seed in [
        (60_000, 1e-9, 100_000, 3_000, 1),
        (10, 0.01, 25, 40, 2),
        (60_000, 1e-9, 100_000, 50, 3),
    ]:
        keys = [_random_keys(n, seed)]
        bf = DynamicBloomFilter(num_entries=nr, fpp=fpp, max_entries=max_entries)
        bf.add_keys(pa.array(keys[0]))
        assert bf.serialize() == _reference_filter(keys, nr, fpp, max_entries)


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
