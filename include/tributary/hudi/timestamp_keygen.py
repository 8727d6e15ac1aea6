"""Partition paths of Hudi's TimestampBasedKeyGenerator, as its Java code formats them.

Config (``hoodie.keygen.timebased.*`` in ``hoodie.properties``): ``timestamp.type`` one of
EPOCHMILLISECONDS, EPOCHMICROSECONDS, UNIX_TIMESTAMP, SCALAR (with ``timestamp.scalar.time.unit``)
or DATE_STRING (with ``input.dateformat``); ``output.dateformat`` (a Joda pattern);
``timezone`` (input and output) or ``input.timezone`` / ``output.timezone``.

Java's rules, followed exactly (``TimestampBasedAvroKeyGenerator``, ``HoodieDateTimeParser``):

- the field's Avro value is the number: a timestamp column is its epoch **microseconds**, a date
  its epoch day, a double/decimal truncated to a long; ``TimeUnit.MILLISECONDS.convert`` turns it
  into milliseconds (finer units truncate toward zero, coarser ones saturate);
- a null value is ``1`` (DATE_STRING: 1 ms formatted with the first input format, then parsed);
- the output zone is ``timezone``/``output.timezone``, else for DATE_STRING the input zone, else
  the JVM's zone, which is UTC on Glue (and here).

Unsupported settings (MIXED, custom parsers, zone offsets in patterns, unknown pattern letters)
are refused with :class:`~tributary.errors.UnsupportedTableError` naming the table and option.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tributary.errors import HudiError, UnsupportedTableError

PREFIX = "hoodie.keygen.timebased."
_LONG_MAX, _LONG_MIN = (1 << 63) - 1, -(1 << 63)
_MIN_MS, _MAX_MS = -62_135_596_800_000 + 86_400_000, 253_402_300_799_999 - 86_400_000
"""Years 0001-9999 with a day to spare for time zones."""
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_UNIT_MS = {"NANOSECONDS": -1_000_000, "MICROSECONDS": -1_000, "MILLISECONDS": 1, "SECONDS": 1_000,
            "MINUTES": 60_000, "HOURS": 3_600_000, "DAYS": 86_400_000}  # fmt: skip
"""Milliseconds per unit (negative: units per millisecond)."""
_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+")
_SUPPORTED = set("yMdHhmsSDEa")


class TimestampType(StrEnum):
    EPOCHMILLISECONDS = "EPOCHMILLISECONDS"
    EPOCHMICROSECONDS = "EPOCHMICROSECONDS"
    UNIX_TIMESTAMP = "UNIX_TIMESTAMP"
    SCALAR = "SCALAR"
    DATE_STRING = "DATE_STRING"


def _tokens(pattern: str, option: str, table: str) -> list[tuple[str, int] | str]:
    """A Joda pattern as fields ``(letter, count)`` and literal strings."""
    out: list[tuple[str, int] | str] = []
    pos = 0
    for m in _TOKEN.finditer(pattern):
        pos = m.end()
        text = m.group()
        if text.startswith("'"):
            out.append("'" if text == "''" else text[1:-1].replace("''", "'"))
        elif m.group(1):
            if text[0] not in _SUPPORTED:
                raise UnsupportedTableError(
                    f"table {table}: {option}={pattern!r} uses the pattern letter {text[0]!r}, which the "
                    f"embedded writer does not format; supported: {''.join(sorted(_SUPPORTED))} and quoted text"
                )
            out.append((text[0], len(text)))
        else:
            out.append(text)
    if pos != len(pattern):
        raise UnsupportedTableError(f"table {table}: {option}={pattern!r} has an unterminated quote")
    return out


def _zone(name: str, option: str, table: str) -> str:
    name = name.strip()
    if name.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:
        raise UnsupportedTableError(
            f"table {table}: {option}={name!r} is not an IANA time zone name the embedded writer knows "
            "(use a name such as 'America/New_York' or 'UTC')"
        ) from exc
    return name


@dataclass(frozen=True)
class TimestampKeygen:
    """A TimestampBasedKeyGenerator's settings, validated."""

    field: str
    timestamp_type: TimestampType
    output: tuple[tuple[str, int] | str, ...]
    input_formats: tuple[tuple[tuple[str, int] | str, ...], ...]
    input_zone: str | None
    output_zone: str | None
    unit_ms: int

    @classmethod
    def from_properties(cls, props: Mapping[str, str], field: str, table: str) -> TimestampKeygen:
        raw = props.get(PREFIX + "timestamp.type", "").strip().upper()
        if not raw:
            raise UnsupportedTableError(
                f"table {table} uses TimestampBasedKeyGenerator but its hoodie.properties has no "
                f"{PREFIX}timestamp.type (Hudi 0.x does not store it); add it there, e.g. "
                f"{PREFIX}timestamp.type=EPOCHMILLISECONDS, as the Spark writer's option says"
            )
        try:
            ttype = TimestampType(raw)
        except ValueError:
            raise UnsupportedTableError(
                f"table {table}: {PREFIX}timestamp.type={raw} is not supported by the embedded writer; "
                f"supported: {', '.join(TimestampType)}. Use engine 'glue' for this table."
            ) from None
        for key in ("parser.class", "date.time.parser"):
            if props.get(PREFIX + key, "org.apache.hudi.keygen.parser.HoodieDateTimeParser").strip() not in (
                "",
                "org.apache.hudi.keygen.parser.HoodieDateTimeParser",
            ):
                raise UnsupportedTableError(f"table {table}: a custom {PREFIX}{key} is not supported")
        out_fmt = props.get(PREFIX + "output.dateformat", "")
        if not out_fmt:
            raise UnsupportedTableError(
                f"table {table}: partition field {field!r} is timestamp-based but hoodie.properties has no "
                f"{PREFIX}output.dateformat (Spark passes it as a write option only, for a CustomKeyGenerator); "
                "add the table's hoodie.keygen.timebased.* settings to hoodie.properties or use engine 'glue'"
            )
        zin: str | None
        zout: str | None
        if PREFIX + "timezone" in props:
            zin = zout = _zone(props[PREFIX + "timezone"] or "GMT", PREFIX + "timezone", table)
        else:
            zi, zo = props.get(PREFIX + "input.timezone", ""), props.get(PREFIX + "output.timezone", "")
            zin = _zone(zi, PREFIX + "input.timezone", table) if zi.strip() else None
            zout = _zone(zo, PREFIX + "output.timezone", table) if zo.strip() else None
        inputs: list[tuple[tuple[str, int] | str, ...]] = []
        if ttype == TimestampType.DATE_STRING:
            text = props.get(PREFIX + "input.dateformat", "")
            delim = props.get(PREFIX + "input.dateformat.list.delimiter.regex", ",") or ","
            if not text.strip():
                raise UnsupportedTableError(f"table {table}: DATE_STRING needs {PREFIX}input.dateformat")
            for fmt in re.split(delim, text):
                inputs.append(tuple(_tokens(fmt.strip(), PREFIX + "input.dateformat", table)))
        unit = {"EPOCHMILLISECONDS": "MILLISECONDS", "EPOCHMICROSECONDS": "MICROSECONDS", "UNIX_TIMESTAMP": "SECONDS"}
        unit_name = unit.get(ttype, props.get(PREFIX + "timestamp.scalar.time.unit", "SECONDS").strip().upper())
        if unit_name not in _UNIT_MS:
            raise UnsupportedTableError(
                f"table {table}: {PREFIX}timestamp.scalar.time.unit={unit_name} is not a Java TimeUnit"
            )
        return cls(field, ttype, tuple(_tokens(out_fmt, PREFIX + "output.dateformat", table)), tuple(inputs),
                   zin, zout, _UNIT_MS[unit_name])  # fmt: skip

    # --- values to epoch milliseconds ---------------------------------------------------------

    def _to_millis(self, col: pa.ChunkedArray | pa.Array, what: str) -> pa.Array:
        t = col.type
        if self.timestamp_type == TimestampType.DATE_STRING:
            if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
                raise HudiError(f"{what}: DATE_STRING partition field {self.field!r} must be text, not {t}")
            default = _format_ms(1, self.input_formats[0], self.input_zone or self.output_zone or "UTC")
            return self._parse(pc.fill_null(col, default), what)
        if pa.types.is_timestamp(t):
            col = pc.cast(pc.cast(col, pa.timestamp("us", t.tz), safe=False), pa.int64())
        elif pa.types.is_date(t):
            col = pc.cast(pc.cast(col, pa.date32()), pa.int32())
        elif pa.types.is_floating(t) or pa.types.is_decimal(t):
            col = pc.cast(pc.trunc(pc.cast(col, pa.float64())), pa.int64())
        elif not pa.types.is_integer(t):
            raise HudiError(
                f"{what}: partition field {self.field!r} has type {t}; {self.timestamp_type} needs a number "
                "(Hudi's Java key generator fails on text unless the type is DATE_STRING)"
            )
        values = pc.fill_null(pc.cast(col, pa.int64()), 1)
        return _convert_to_ms(pa.chunked_array([values]) if isinstance(values, pa.Array) else values, self.unit_ms)

    def _parse(self, col: pa.ChunkedArray | pa.Array, what: str) -> pa.Array:
        uniq = pc.unique(col)
        parsers = [_parser(fmt) for fmt in self.input_formats]
        zone = ZoneInfo(self.input_zone or "UTC")
        out = []
        for text in uniq.to_pylist():
            for parse in parsers:
                local = parse(text)
                if local is not None:
                    break
            else:
                raise HudiError(
                    f"{what}: partition field {self.field!r} value {text!r} does not match "
                    f"{PREFIX}input.dateformat (Hudi's Java key generator fails on it too)"
                )
            out.append(_local_to_ms(local, zone))
        return pc.take(pa.array(out, pa.int64()), pc.index_in(col, value_set=uniq))

    def format(self, col: pa.ChunkedArray | pa.Array, what: str) -> pa.ChunkedArray | pa.Array:
        """The formatted partition value (before hive-style prefix and URL-encoding) per row."""
        millis = self._to_millis(col, what)
        out_of_range = pc.or_(pc.less(millis, _MIN_MS), pc.greater(millis, _MAX_MS))
        if pc.any(out_of_range).as_py():
            value = pc.filter(col, out_of_range)[0].as_py()
            raise HudiError(
                f"{what}: partition field {self.field!r} value {value!r} is outside the years 0001-9999 as "
                f"{self.timestamp_type} (a unit mismatch?); the embedded writer refuses to format it"
            )
        zone = self.output_zone or (self.input_zone if self.timestamp_type == TimestampType.DATE_STRING else None)
        return _format_column(millis, self.output, zone or "UTC")


def _convert_to_ms(values: pa.ChunkedArray, unit_ms: int) -> pa.ChunkedArray:
    """``TimeUnit.MILLISECONDS.convert(v, unit)``: saturating multiply or truncating divide."""
    if unit_ms == 1:
        return values
    if unit_ms < 0:
        div = -unit_ms
        q = pc.divide(values, div)  # integer division truncates toward zero, as Java's
        return q
    hi, lo = _LONG_MAX // unit_ms, _LONG_MIN // unit_ms
    scaled = pc.multiply(pc.min_element_wise(pc.max_element_wise(values, lo), hi), unit_ms)
    return pc.if_else(pc.greater(values, hi), _LONG_MAX, pc.if_else(pc.less(values, lo), _LONG_MIN, scaled))


def _format_column(
    millis: pa.ChunkedArray | pa.Array, tokens: tuple[tuple[str, int] | str, ...], zone: str
) -> pa.Array:
    local = pc.cast(_local_millis(millis, zone), pa.timestamp("ms"))
    parts: list[pa.ChunkedArray | pa.Array | str] = []
    for tok in tokens:
        parts.append(tok if isinstance(tok, str) else _field(local, *tok))
    n = len(millis)
    cols = [pa.repeat(pa.scalar(p), n) if isinstance(p, str) else p for p in parts]
    if len(cols) == 1:
        return cols[0]
    return pc.binary_join_element_wise(*cols, "")


def _offset_ms(minute: int, tz: ZoneInfo) -> int:
    """The zone's UTC offset in milliseconds at epoch minute ``minute``."""
    offset = datetime.fromtimestamp(minute * 60, tz).utcoffset()
    assert offset is not None  # an aware datetime always has one
    return int(offset.total_seconds() * 1000)


def _local_millis(millis: pa.ChunkedArray | pa.Array, zone: str) -> pa.Array:
    """Wall-clock milliseconds in ``zone``: offsets from Python's zoneinfo, which follows the
    zone's rules past 2037 as Joda does (Arrow's own conversion stops applying DST there)."""
    ms = np.asarray(pc.fill_null(millis, 0).to_numpy(zero_copy_only=False), np.int64)
    if zone == "UTC":
        return pa.array(ms)
    tz = ZoneInfo(zone)
    minutes, where = np.unique(np.floor_divide(ms, 60_000), return_inverse=True)
    offsets = np.array(
        [_offset_ms(int(m), tz) for m in minutes],
        np.int64,
    )
    return pa.array(ms + offsets[where.reshape(-1)])


def _pad(values: pa.ChunkedArray | pa.Array, width: int) -> pa.ChunkedArray | pa.Array:
    text = pc.cast(pc.abs(values), pa.string())
    padded = pc.utf8_lpad(text, width=width, padding="0")
    return pc.if_else(pc.less(values, 0), pc.binary_join_element_wise("-", padded, ""), padded)


def _field(local: pa.ChunkedArray | pa.Array, letter: str, count: int) -> pa.ChunkedArray | pa.Array:
    if letter == "y":
        year = pc.year(local)
        return _pad(pc.subtract(year, pc.multiply(pc.divide(year, 100), 100)), 2) if count == 2 else _pad(year, count)
    if letter == "M":
        month = pc.month(local)
        if count >= 3:
            names = pa.array([m if count > 3 else m[:3] for m in _MONTHS])
            return pc.take(names, pc.subtract(month, 1))
        return _pad(month, count)
    if letter == "E":
        names = pa.array([d if count > 3 else d[:3] for d in _DAYS])
        return pc.take(names, pc.day_of_week(local))
    if letter == "a":
        return pc.take(pa.array(["AM", "PM"]), pc.divide(pc.hour(local), 12))
    if letter == "h":
        h = pc.subtract(pc.hour(local), pc.multiply(pc.divide(pc.hour(local), 12), 12))
        return _pad(pc.if_else(pc.equal(h, 0), 12, h), count)
    if letter == "S":
        ms = pc.millisecond(local)
        frac = pc.multiply(ms, 10 ** (count - 3)) if count >= 3 else pc.divide(ms, 10 ** (3 - count))
        return _pad(frac, count)
    fn = {"d": pc.day, "H": pc.hour, "m": pc.minute, "s": pc.second, "D": pc.day_of_year}[letter]
    return _pad(fn(local), count)


def _format_ms(ms: int, tokens: tuple[tuple[str, int] | str, ...], zone: str) -> str:
    return str(_format_column(pa.array([ms], pa.int64()), tokens, zone)[0])


def _parser(tokens: tuple[tuple[str, int] | str, ...]) -> Callable[[str], dict[str, int] | None]:
    """A full-match parser of one Joda input pattern (numeric fields and literals)."""
    regex, names = [], []
    for i, tok in enumerate(tokens):
        if isinstance(tok, str):
            regex.append(re.escape(tok))
            continue
        letter, count = tok
        if letter == "M" and count >= 3:
            regex.append("(" + "|".join(m if count > 3 else m[:3] for m in _MONTHS) + ")")
            names.append("Mtext")
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        adjacent = isinstance(nxt, tuple)
        width = f"{{{count}}}" if adjacent else ("{1,9}" if letter in "yS" else f"{{1,{max(count, 2)}}}")
        regex.append(f"(\\d{width})")
        names.append(letter + str(count) if letter == "S" else letter)
    compiled = re.compile("".join(regex))

    def parse(text: str) -> dict[str, int] | None:
        m = compiled.fullmatch(text)
        if m is None:
            return None
        got: dict[str, int] = {}
        for name, value in zip(names, m.groups(), strict=True):
            if name == "Mtext":
                got["M"] = next(i + 1 for i, mo in enumerate(_MONTHS) if mo.startswith(value))
            elif name.startswith("S"):
                got["S"] = int(value.ljust(3, "0")[:3])
            else:
                got[name] = int(value)
        return got

    return parse


def _local_to_ms(f: dict[str, int], zone: ZoneInfo) -> int:
    hour = f.get("H", f.get("h", 0) % 12 + (12 if f.get("a") else 0))
    local = datetime(f.get("y", 1970), f.get("M", 1), f.get("d", 1), hour, f.get("m", 0), f.get("s", 0))
    local += timedelta(milliseconds=f.get("S", 0))
    if "D" in f:
        local = local.replace(month=1, day=1) + timedelta(days=f["D"] - 1)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return int((local.replace(tzinfo=zone) - epoch) / timedelta(milliseconds=1))
