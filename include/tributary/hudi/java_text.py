"""Column values as Hudi's Java key generators spell them in record keys and partition paths.

Spark's Hudi writer turns each row into an Avro record and takes ``String.valueOf`` of the
field (``HoodieAvroUtils.getNestedFieldValAsString``), so a value's text is Java's:

- double / float: ``Double.toString`` / ``Float.toString`` (``1.0``, ``1.5E10``, ``1.0E-5``):
  plain notation for ``1e-3 <= |x| < 1e7``, else ``d.dddE<exp>``; shortest round-trip digits.
  JDK 17 prints a few doubles with more digits than the shortest (``1.0E23`` is printed
  ``9.999999999999999E22``); those rare values are not reproduced here.
- decimal: ``BigDecimal.toString`` (scale kept: ``12.30``; ``1E-7`` below 1e-6), which is
  Python's ``str(Decimal)`` for the scales Avro carries.
- timestamp: the Avro long, epoch **microseconds** (Spark's upsert path; Hudi's row-writer bulk
  insert spells them differently, a Hudi inconsistency we do not follow).
- date: ``LocalDate.toString`` (``2024-01-02``); time of day: the Avro long (microseconds).
- bool and integers: as Java prints them.

:func:`escape_path_name` is Hudi's ``PartitionPathEncodeUtils.escapePathName`` (the URL-encoding
of ``hoodie.datasource.write.partitionpath.urlencode``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tributary.errors import HudiError

Column: TypeAlias = pa.ChunkedArray | pa.Array
"""An Arrow column, whole or one chunk."""

# Hive's FileUtils.charToEscape, as Hudi's PartitionPathEncodeUtils copies it
_ESCAPED = {*range(0x00, 0x20), *map(ord, "\"#%'*/:=?[\\]^{"), 0x7F}
_ESCAPE_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_ESCAPED)) + "]")


def escape_path_name(value: str) -> str:
    """``PartitionPathEncodeUtils.escapePathName``: ``%XX`` for path-unsafe ASCII characters."""
    return _ESCAPE_RE.sub(lambda m: f"%{ord(m.group()):02X}", value)


def java_float_text(value: float, single: bool = False) -> str:
    """``Double.toString(value)`` (``Float.toString`` when ``single``)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    sci = np.format_float_scientific(np.float32(value) if single else np.float64(value), unique=True, trim="-")
    mantissa, exp_text = sci.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    exp = int(exp_text)
    if -3 <= exp < 7:
        if exp >= 0:
            whole = digits[: exp + 1].ljust(exp + 1, "0")
            frac = digits[exp + 1 :] or "0"
        else:
            whole, frac = "0", "0" * (-exp - 1) + digits
        return f"{sign}{whole}.{frac}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exp}"


def _map_unique(col: Column, fn: Callable[[Any], str]) -> Column:
    """Apply a Python ``fn`` to the distinct values of ``col`` only (nulls stay null)."""
    uniq = pc.unique(col)
    texts = pa.array([None if v is None else fn(v) for v in uniq.to_pylist()], pa.string())
    return pc.take(texts, pc.index_in(col, value_set=uniq))


def _decimal_text(col: Column) -> Column:
    typ = col.type
    if typ.scale <= 6:
        return pc.cast(col, pa.string())
    # BigDecimal switches to E notation when the adjusted exponent is below -6 (0.0000001 -> 1E-7)
    return _map_unique(col, lambda v: str(Decimal(v)))


def _timestamp_micros(col: Column) -> Column:
    unit_type = pa.timestamp("us", col.type.tz)
    return pc.cast(pc.cast(col, unit_type, safe=False), pa.int64())


def java_text(col: Column, what: str) -> Column:
    """Each value of ``col`` as Hudi's Java key generators print it (nulls stay null)."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col
    if pa.types.is_floating(t):
        single = t == pa.float32() or t == pa.float16()
        return _map_unique(col, lambda v: java_float_text(v, single))
    if pa.types.is_decimal(t):
        return _decimal_text(col)
    if pa.types.is_timestamp(t):
        return pc.cast(_timestamp_micros(col), pa.string())
    if pa.types.is_time(t):
        return pc.cast(pc.cast(pc.cast(col, pa.time64("us")), pa.int64()), pa.string())
    if pa.types.is_date(t) or pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pc.cast(col, pa.string())
    if pa.types.is_dictionary(t):
        return java_text(pc.cast(col, t.value_type), what)
    raise HudiError(f"{what}: a column of type {t} cannot be a record key or partition field")
