"""Record keys and partition paths, as the table's own Hudi key generator writes them.

The key generator is the one ``hoodie.properties`` names (``TableOptions.keygen_type``), never
guessed from field counts for an existing table. What Spark's Hudi 0.15.0 and 1.0.2 upserts
write (checked by tests/conformance):

- record key: one field -> its value (null or empty refused), for every key generator, Complex
  included; several fields -> ``f1:v1,f2:v2`` with ``__null__`` / ``__empty__``.
- partition path: SIMPLE/COMPLEX/CUSTOM-simple -> the values joined by ``/``, ``field=value``
  when hive-style, ``__HIVE_DEFAULT_PARTITION__`` for a null or empty value, each value
  %-escaped when ``hoodie.datasource.write.partitionpath.urlencode`` is set; NON_PARTITION ->
  ""; TIMESTAMP/CUSTOM-timestamp -> :mod:`tributary.hudi.timestamp_keygen`.
- values print as Java prints them (:mod:`tributary.hudi.java_text`).

Hudi itself neither escapes ``,`` / ``:`` in composite keys nor guards paths: two different keys
can spell the same composite key (``a=1,b:2`` + ``b=3`` vs ``a=1`` + ``b=2,b:3``) and a partition
value ``..`` or ``x/../..`` writes outside the table. Such values are refused here
(:class:`~tributary.errors.HudiError` naming the field and value) instead of silently merging
two rows or leaving the table.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from tributary.errors import HudiError
from tributary.hudi.java_text import Column, escape_path_name, java_text
from tributary.hudi.options import KeyGenerator, TableOptions
from tributary.hudi.timestamp_keygen import TimestampKeygen

NULL_KEY = "__null__"
EMPTY_KEY = "__empty__"
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_NOT_A_PATH = "partition values are data, never paths"


def _chunked(col: Column) -> pa.ChunkedArray:
    return col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])


def _first(col: Column, mask: Column) -> object:
    """The first value of ``col`` where ``mask`` is true."""
    return pc.filter(col, mask)[0].as_py()


def _require(table: pa.Table, fields: tuple[str, ...], kind: str, opts: TableOptions, what: str) -> None:
    missing = [f for f in fields if f not in table.column_names]
    if missing:
        raise HudiError(f"{what}: {kind} column(s) {missing} missing for table {opts.table_name!r}")


def _never_empty_text(col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether every value of ``col`` prints as a non-empty text: an integer or date column
    without nulls."""
    return (pa.types.is_integer(col.type) or pa.types.is_date(col.type)) and col.null_count == 0


def _simple_key(table: pa.Table, name: str, opts: TableOptions, what: str) -> pa.ChunkedArray:
    keys = java_text(table.column(name), what)
    if _never_empty_text(table.column(name)):
        return _chunked(keys)
    bad = pc.sum(pc.cast(pc.or_kleene(pc.is_null(keys), pc.equal(keys, "")), pa.int64())).as_py() or 0
    if bad:
        raise HudiError(
            f"{what}: {bad} row(s) have a null or empty record key {name!r} for table {opts.table_name!r}; "
            "every row needs a key"
        )
    return _chunked(keys)


def _complex_key(table: pa.Table, opts: TableOptions, what: str) -> pa.ChunkedArray:
    fields = opts.record_key_fields
    parts: list[Column | str] = []
    all_null = None
    for i, name in enumerate(fields):
        v = java_text(table.column(name), what)
        literal = pc.is_in(v, value_set=pa.array([NULL_KEY, EMPTY_KEY]))
        if pc.any(literal).as_py():
            raise HudiError(
                f"{what}: record key field {name!r} of table {opts.table_name!r} has the value "
                f"{_first(v, literal)!r}, which Hudi's composite key uses for null/empty: two different rows "
                "would get one key. Change the value at the source."
            )
        if i + 1 < len(fields):
            # Hudi joins "f1:v1,f2:v2" without escaping: a value holding ",<next field>:" makes two
            # different rows spell the same key (a=1,b:2 + b=3 vs a=1 + b=2,b:3)
            marker = f",{fields[i + 1]}:"
            clash = pc.match_substring(v, marker)
            if pc.any(clash).as_py():
                raise HudiError(
                    f"{what}: record key field {name!r} of table {opts.table_name!r} has the value "
                    f"{_first(v, clash)!r} containing {marker!r}; Hudi's composite key does not escape it, so "
                    "another row could get the same key and the two would silently merge. Change the value "
                    "at the source or key the table differently."
                )
        isnull = pc.is_null(v)
        all_null = isnull if all_null is None else pc.and_(all_null, isnull)
        v = pc.fill_null(v, NULL_KEY)
        v = pc.if_else(pc.equal(v, ""), EMPTY_KEY, v)
        parts += [("," if i else "") + f"{name}:", v]
    if all_null is not None and pc.any(all_null).as_py():
        raise HudiError(f"{what}: rows with all record key fields null for table {opts.table_name!r}")
    cols = [pa.repeat(pa.scalar(p), table.num_rows) if isinstance(p, str) else p for p in parts]
    return _chunked(pc.binary_join_element_wise(*cols, ""))


def record_keys(table: pa.Table, opts: TableOptions, what: str) -> pa.ChunkedArray:
    """The ``_hoodie_record_key`` of every row; raises HudiError on keys Hudi cannot tell apart."""
    _require(table, opts.record_key_fields, "record key", opts, what)
    if len(opts.record_key_fields) == 1 and not opts.single_key_field_named:
        return _simple_key(table, opts.record_key_fields[0], opts, what)
    return _complex_key(table, opts, what)


def check_record_keys(table: pa.Table, opts: TableOptions, what: str) -> None:
    """Raise what :func:`record_keys` raises for ``table``, without building the keys when one
    integer or date field without nulls is the key (its text is never null or empty)."""
    fields = opts.record_key_fields
    if len(fields) == 1 and fields[0] in table.column_names and _never_empty_text(table.column(fields[0])):
        return
    record_keys(table, opts, what)


def _simple_part(table: pa.Table, name: str, opts: TableOptions, what: str) -> Column:
    v = java_text(table.column(name), what)
    empty = pc.or_kleene(pc.is_null(v), pc.equal(v, ""))
    if opts.partition_path_urlencode:
        uniq = pc.unique(v)
        escaped = pa.array([None if s is None else escape_path_name(s) for s in uniq.to_pylist()], pa.string())
        v = pc.take(escaped, pc.index_in(v, value_set=uniq))
    else:
        for bad, why in (("/", "nests one partition in another"), ("\x00", "is not a valid path")):
            hit = pc.match_substring(v, bad)
            if pc.any(hit).as_py():
                raise HudiError(
                    f"{what}: partition field {name!r} of table {opts.table_name!r} has the value "
                    f"{_first(v, hit)!r}, which {why} ({_NOT_A_PATH}). Clean the value at the source, or "
                    "use a table with hoodie.datasource.write.partitionpath.urlencode=true."
                )
    return pc.if_else(empty, DEFAULT_PARTITION, v)


def _with_prefix(v: Column, name: str, opts: TableOptions) -> Column:
    if not opts.hive_style_partitioning:
        return v
    return pc.binary_join_element_wise(pa.repeat(pa.scalar(f"{name}="), len(v)), v, "")


def _parts(table: pa.Table, opts: TableOptions, what: str) -> list[Column]:
    kg = opts.keygen_type
    types = opts.partition_field_types or ("simple",) * len(opts.partition_fields)
    if kg == KeyGenerator.TIMESTAMP:
        types = ("timestamp",) * len(opts.partition_fields)
    out = []
    props = dict(opts.extra_properties)
    for name, typ in zip(opts.partition_fields, types, strict=True):
        if typ == "timestamp":
            v = TimestampKeygen.from_properties(props, name, repr(opts.table_name)).format(table.column(name), what)
            if opts.partition_path_urlencode:
                uniq = pc.unique(v)
                v = pc.take(pa.array([escape_path_name(s) for s in uniq.to_pylist()]), pc.index_in(v, value_set=uniq))
        else:
            v = _simple_part(table, name, opts, what)
        out.append(_with_prefix(v, name, opts))
    return out


def _check_path(paths: Column, opts: TableOptions, what: str) -> None:
    """Refuse paths that leave the table (``.``/``..`` segments) or that Hudi's readers cannot parse."""
    segments = pc.list_flatten(pc.split_pattern(paths, "/"))
    dots = pc.is_in(segments, value_set=pa.array([".", ".."]))
    if pc.any(dots).as_py():
        bad = _first(paths, pc.match_substring_regex(paths, r"(^|/)\.\.?(/|$)"))
        raise HudiError(
            f"{what}: a partition value of table {opts.table_name!r} makes the partition path {bad!r} "
            f"(partition field(s) {', '.join(map(repr, opts.partition_fields))}), which would leave the table "
            f"({_NOT_A_PATH}). "
            "Clean the value at the source."
        )
    first = pc.match_substring_regex(paths, r"^[^/]*:")
    if pc.any(first).as_py():
        raise HudiError(
            f"{what}: partition field {opts.partition_fields[0]!r} of table {opts.table_name!r} makes the "
            f"partition path {_first(paths, first)!r}; a ':' before the first '/' is read as a URI scheme by "
            "Hudi's Java readers. Clean the value at the source, or use a table with "
            "hoodie.datasource.write.partitionpath.urlencode=true."
        )


def partition_paths(table: pa.Table, opts: TableOptions, what: str) -> pa.ChunkedArray:
    """The ``_hoodie_partition_path`` of every row ("" when not partitioned)."""
    n = table.num_rows
    if not opts.partition_fields or opts.keygen_type == KeyGenerator.NON_PARTITION:
        return pa.chunked_array([pa.repeat(pa.scalar("", pa.string()), n)])
    _require(table, opts.partition_fields, "partition", opts, what)
    parts = _parts(table, opts, what)
    out = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "/")
    if n:
        _check_path(out, opts, what)
    return _chunked(out)
