"""Table options, write operations and the mapping to/from ``hoodie.properties``."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypedDict, Unpack

from tributary.errors import HudiError, TableConfigMismatchError, UnsupportedTableError
from tributary.hudi.merge_mode import check_supported, ordering_properties
from tributary.modes import TableType, WriteOperationType

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
META_COLUMNS = (
    "_hoodie_commit_time",
    "_hoodie_commit_seqno",
    "_hoodie_record_key",
    "_hoodie_partition_path",
    "_hoodie_file_name",
)


class KeyGenerator(StrEnum):
    """Hudi's key generator types (``hoodie.table.keygenerator.type``)."""

    SIMPLE = "SIMPLE"
    COMPLEX = "COMPLEX"
    NON_PARTITION = "NON_PARTITION"
    TIMESTAMP = "TIMESTAMP"
    CUSTOM = "CUSTOM"


KEYGEN_CLASS = {
    KeyGenerator.SIMPLE: "org.apache.hudi.keygen.SimpleKeyGenerator",
    KeyGenerator.COMPLEX: "org.apache.hudi.keygen.ComplexKeyGenerator",
    KeyGenerator.NON_PARTITION: "org.apache.hudi.keygen.NonpartitionedKeyGenerator",
    KeyGenerator.TIMESTAMP: "org.apache.hudi.keygen.TimestampBasedKeyGenerator",
    KeyGenerator.CUSTOM: "org.apache.hudi.keygen.CustomKeyGenerator",
}
_KEYGEN_TYPE_BY_CLASS = {v: k for k, v in KEYGEN_CLASS.items()}
# the Avro and Spark-SQL variants write the same keys
for _name, _type in list(_KEYGEN_TYPE_BY_CLASS.items()):
    _base = _name.removesuffix("KeyGenerator")
    _KEYGEN_TYPE_BY_CLASS[_base + "AvroKeyGenerator"] = _type
_KEYGEN_TYPE_BY_CLASS["org.apache.hudi.keygen.NonpartitionedAvroKeyGenerator"] = KeyGenerator.NON_PARTITION
_KEYGEN_TYPE_BY_CLASS["org.apache.hudi.keygen.GlobalDeleteKeyGenerator"] = KeyGenerator.NON_PARTITION


WriteOperation = WriteOperationType
"""The embedded writer's name for :class:`tributary.modes.WriteOperationType` (the same class)."""


class Maintenance(TypedDict, total=False):
    """Clean, archive and file-size settings of a table run (not table properties)."""

    clean_retain_commits: int
    archive_min_instants: int
    archive_max_instants: int
    target_file_size_bytes: int
    small_file_limit_bytes: int
    record_size_estimate_bytes: int


@dataclass(frozen=True)
class TableOptions:
    """How a table is keyed, partitioned and maintained. Validated on construction."""

    table_name: str
    record_key_fields: tuple[str, ...]
    precombine_field: str | None = None
    partition_fields: tuple[str, ...] = ()
    hive_style_partitioning: bool = True
    table_version: int = 6
    database_name: str = "default"
    clean_retain_commits: int = 10
    archive_min_instants: int = 20
    archive_max_instants: int = 30
    target_file_size_bytes: int = 120 * 1024 * 1024
    small_file_limit_bytes: int = 100 * 1024 * 1024
    record_size_estimate_bytes: int = 1024
    """Bytes per record assumed until the table holds rows (Hudi's default): sizes the first write's
    file groups, which are then written in parallel (see ``hudi.file_writer.write_threads``)."""
    key_generator: KeyGenerator | None = None
    """The table's key generator; None: inferred from the field counts on construction (new tables)."""
    partition_path_urlencode: bool = False
    """``hoodie.datasource.write.partitionpath.urlencode``: partition values are %-escaped."""
    partition_field_types: tuple[str, ...] = ()
    """CustomKeyGenerator only: ``simple`` or ``timestamp`` per partition field."""
    single_key_field_named: bool = field(default=False, compare=False)
    """A one-field COMPLEX/CUSTOM table whose stored keys are spelled ``field:value`` (as Hudi's Avro
    path and Tributary before 2026-12 wrote them; Spark's upsert writes the bare value): upserts keep
    the spelling the table's files hold, so they find their rows. Found by :meth:`HudiTable.open`."""
    extra_properties: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """Properties read from an existing table that the writer keeps as they are."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_key_fields", tuple(self.record_key_fields))
        object.__setattr__(self, "partition_fields", tuple(self.partition_fields))
        problems = []
        if not _NAME.match(self.table_name or ""):
            problems.append(f"table_name {self.table_name!r} must match {_NAME.pattern}")
        if not _NAME.match(self.database_name or ""):
            problems.append(f"database_name {self.database_name!r} must match {_NAME.pattern}")
        if not self.record_key_fields:
            problems.append("record_key_fields must name at least one column")
        for name in (
            *self.record_key_fields,
            *self.partition_fields,
            *([self.precombine_field] if self.precombine_field else []),
        ):
            if not isinstance(name, str) or not name or name.startswith("_hoodie_") or "," in name:
                problems.append(f"column name {name!r} is not usable as a key/partition/precombine field")
        if len(set(self.record_key_fields)) != len(self.record_key_fields):
            problems.append("record_key_fields has duplicates")
        if len(set(self.partition_fields)) != len(self.partition_fields):
            problems.append("partition_fields has duplicates")
        if self.table_version not in (6, 8):
            problems.append(f"table_version {self.table_version} is not supported; use 6 or 8")
        if self.clean_retain_commits < 1:
            problems.append("clean_retain_commits must be >= 1")
        if not (1 <= self.archive_min_instants < self.archive_max_instants):
            problems.append("archive_min_instants must be >= 1 and < archive_max_instants")
        if self.archive_min_instants <= self.clean_retain_commits:
            problems.append("archive_min_instants must be > clean_retain_commits (Hudi requires it)")
        if self.target_file_size_bytes <= 0 or self.small_file_limit_bytes < 0:
            problems.append("target_file_size_bytes must be > 0 and small_file_limit_bytes >= 0")
        if self.record_size_estimate_bytes <= 0:
            problems.append("record_size_estimate_bytes must be > 0")
        if self.key_generator is None:
            object.__setattr__(self, "key_generator", self._inferred_keygen())
        problems += self._keygen_problems()
        if problems:
            raise HudiError(f"invalid options for table {self.table_name!r}: " + "; ".join(problems))

    def _keygen_problems(self) -> list[str]:
        kg = self.key_generator
        if kg is None:
            return []
        problems = []
        if kg in (KeyGenerator.SIMPLE, KeyGenerator.TIMESTAMP) and len(self.record_key_fields) != 1:
            problems.append(f"key generator {kg} takes exactly one record key field")
        if kg in (KeyGenerator.SIMPLE, KeyGenerator.TIMESTAMP) and len(self.partition_fields) > 1:
            problems.append(f"key generator {kg} takes at most one partition field")
        if kg == KeyGenerator.CUSTOM and len(self.partition_field_types) != len(self.partition_fields):
            problems.append("CustomKeyGenerator needs a type (simple or timestamp) per partition field")
        return problems

    @property
    def is_partitioned(self) -> bool:
        return bool(self.partition_fields)

    @property
    def keygen_type(self) -> KeyGenerator:
        """The key generator: the stored one, else (set on construction) inferred from the field counts."""
        return self.key_generator or self._inferred_keygen()

    def _inferred_keygen(self) -> KeyGenerator:
        """What Hudi's Spark writer picks when no key generator is given."""
        if not self.partition_fields:
            return KeyGenerator.NON_PARTITION
        if len(self.record_key_fields) == 1 and len(self.partition_fields) == 1:
            return KeyGenerator.SIMPLE
        return KeyGenerator.COMPLEX

    def property_value(self, key: str, default: str = "") -> str:
        """A property kept from the table's ``hoodie.properties`` (``default`` when absent)."""
        return dict(self.extra_properties).get(key, default)

    def to_properties(self) -> dict[str, str]:
        """``hoodie.properties`` content for this table (checksum last)."""
        p: dict[str, str] = {}
        p["hoodie.table.name"] = self.table_name
        p["hoodie.table.type"] = TableType.COPY_ON_WRITE.value
        p["hoodie.table.version"] = str(self.table_version)
        p["hoodie.timeline.layout.version"] = "1" if self.table_version == 6 else "2"
        p["hoodie.table.recordkey.fields"] = ",".join(self.record_key_fields)
        if self.precombine_field:
            p["hoodie.table.precombine.field"] = self.precombine_field
        if self.partition_fields:
            fields = self.partition_fields
            if self.keygen_type == KeyGenerator.CUSTOM and self.table_version >= 8:
                fields = tuple(f"{f}:{t}" for f, t in zip(fields, self.partition_field_types, strict=True))
            p["hoodie.table.partition.fields"] = ",".join(fields)
        p["hoodie.database.name"] = self.database_name
        p["hoodie.datasource.write.hive_style_partitioning"] = str(self.hive_style_partitioning).lower()
        p["hoodie.datasource.write.partitionpath.urlencode"] = str(self.partition_path_urlencode).lower()
        p["hoodie.datasource.write.drop.partition.columns"] = "false"
        p["hoodie.table.base.file.format"] = "PARQUET"
        p["hoodie.populate.meta.fields"] = "true"
        p["hoodie.table.timeline.timezone"] = "UTC"
        p["hoodie.archivelog.folder"] = "archived" if self.table_version == 6 else "history"
        p["hoodie.table.cdc.enabled"] = "false"
        p["hoodie.partition.metafile.use.base.format"] = "false"
        if self.table_version == 6:
            p["hoodie.table.keygenerator.class"] = KEYGEN_CLASS[self.keygen_type]
        else:
            p["hoodie.table.keygenerator.type"] = self.keygen_type
            p["hoodie.table.initial.version"] = "8"
            p["hoodie.timeline.path"] = "timeline"
            p["hoodie.timeline.history.path"] = "history"
            p["hoodie.table.multiple.base.file.formats.enable"] = "false"
        p.update(ordering_properties(self.table_version, self.precombine_field))
        for key, value in self.extra_properties:
            p.setdefault(key, value)
        p.pop("hoodie.table.checksum", None)
        p["hoodie.table.checksum"] = str(table_checksum(self.database_name, self.table_name))
        return p

    @classmethod
    def from_properties(cls, props: dict[str, str], where: str, **maintenance: Unpack[Maintenance]) -> TableOptions:
        """Options of an existing table; refuses what the writer cannot continue."""
        name, version = _writable_table(props, where)
        keygen = _stored_keygen(props, name, where)
        rk = tuple(f.strip() for f in props.get("hoodie.table.recordkey.fields", "").split(",") if f.strip())
        if not rk:
            raise UnsupportedTableError(
                f"{where}: table {name!r} has no hoodie.table.recordkey.fields (keyless table); not supported"
            )
        pf, pf_types = _partition_fields(props, keygen, name, where)
        known = set(cls(name, rk).to_properties()) | {"hoodie.table.create.schema", "hoodie.table.precombine.field"}
        known |= {"hoodie.table.partition.fields", "hoodie.table.keygenerator.class", "hoodie.table.keygenerator.type"}
        extra = tuple((k, v) for k, v in props.items() if k not in known and k != "hoodie.table.checksum")
        opts = cls(
            table_name=name,
            record_key_fields=rk,
            precombine_field=props.get("hoodie.table.precombine.field") or None,
            partition_fields=pf,
            hive_style_partitioning=props.get("hoodie.datasource.write.hive_style_partitioning", "false").lower()
            == "true",
            table_version=version,
            database_name=props.get("hoodie.database.name") or "default",
            key_generator=keygen,
            partition_path_urlencode=props.get("hoodie.datasource.write.partitionpath.urlencode", "false").lower()
            == "true",
            partition_field_types=pf_types,
            extra_properties=extra,
            **maintenance,
        )
        types = ("timestamp",) * len(pf) if keygen == KeyGenerator.TIMESTAMP else pf_types
        for fld, typ in zip(pf, types, strict=False):
            if typ == "timestamp":  # refuse unsupported settings when the table is opened
                from tributary.hudi.timestamp_keygen import TimestampKeygen  # only then: it loads compute

                TimestampKeygen.from_properties(props, fld, f"{name!r} at {where}")
        return opts

    def check_matches(self, existing: TableOptions, where: str) -> None:
        """Raise TableConfigMismatchError naming the first property where ``self`` disagrees."""
        checks = [
            ("hoodie.table.recordkey.fields", self.record_key_fields, existing.record_key_fields),
            ("hoodie.table.partition.fields", self.partition_fields, existing.partition_fields),
            ("hoodie.table.version", self.table_version, existing.table_version),
            ("hoodie.table.precombine.field", self.precombine_field, existing.precombine_field),
        ]
        if self.partition_fields:
            checks.append(
                (
                    "hoodie.datasource.write.hive_style_partitioning",
                    self.hive_style_partitioning,
                    existing.hive_style_partitioning,
                )
            )
        for prop, mine, theirs in checks:
            if mine != theirs:
                raise TableConfigMismatchError(
                    f"{where}: table {existing.table_name!r} has {prop}={_fmt(theirs)} but the options ask for "
                    f"{_fmt(mine)}; fix the table config to match, or write to a new table"
                )


def _writable_table(props: dict[str, str], where: str) -> tuple[str, int]:
    """The table's name and version, once its layout is one the embedded writer can continue:
    Copy-on-Write, no metadata table, meta fields, PARQUET base files, partition columns kept,
    a supported merge mode, table version 6 or 8."""
    table_type = props.get("hoodie.table.type", TableType.COPY_ON_WRITE).upper()
    name = props.get("hoodie.table.name")
    if not name:
        raise HudiError(f"{where}: hoodie.properties has no hoodie.table.name; this is not a valid Hudi table")
    if TableType.parse(table_type) is not TableType.COPY_ON_WRITE:
        raise UnsupportedTableError(
            f"{where}: table {name!r} is {table_type}; Tributary's embedded writer only writes Copy-on-Write "
            "tables. Write it with Spark/Glue (engine 'glue'), or recreate it as COPY_ON_WRITE."
        )
    if props.get("hoodie.table.metadata.partitions", "").strip():
        raise UnsupportedTableError(
            f"{where}: table {name!r} has a metadata table (hoodie.table.metadata.partitions="
            f"{props['hoodie.table.metadata.partitions']}); the embedded writer cannot keep it in step. "
            "Disable it with Spark (hoodie.metadata.enable=false on the next write, which deletes "
            ".hoodie/metadata and clears the property), or use engine 'glue'."
        )
    if props.get("hoodie.populate.meta.fields", "true").lower() == "false":
        raise UnsupportedTableError(
            f"{where}: table {name!r} has hoodie.populate.meta.fields=false (no _hoodie_* columns); the "
            "embedded writer needs the meta columns to locate records. Rewrite the table with meta fields "
            "(Spark: hoodie.populate.meta.fields=true) or use engine 'glue'."
        )
    if props.get("hoodie.table.base.file.format", "PARQUET").upper() != "PARQUET":
        raise UnsupportedTableError(f"{where}: table {name!r} does not use PARQUET base files")
    if props.get("hoodie.datasource.write.drop.partition.columns", "false").lower() == "true":
        raise UnsupportedTableError(f"{where}: table {name!r} drops partition columns; not supported")
    check_supported(props, where, name)
    version = int(props.get("hoodie.table.version", "0"))
    if version not in (6, 8):
        raise UnsupportedTableError(
            f"{where}: table {name!r} has hoodie.table.version={version}; the embedded writer writes versions "
            "6 and 8 only. Upgrade/downgrade it with Hudi's CLI or Spark first."
        )
    return name, version


def _stored_keygen(props: dict[str, str], name: str, where: str) -> KeyGenerator | None:
    """The key generator ``hoodie.properties`` names (type, else class); None when it names none."""
    kg_type = props.get("hoodie.table.keygenerator.type", "").strip().upper()
    kg_class = props.get("hoodie.table.keygenerator.class", "").strip()
    if kg_type:
        try:
            return KeyGenerator(kg_type)
        except ValueError:
            raise UnsupportedTableError(
                f"{where}: table {name!r} has hoodie.table.keygenerator.type={kg_type}; the embedded writer supports "
                f"{', '.join(KeyGenerator)}. Use engine 'glue' for this table."
            ) from None
    if not kg_class:
        return None
    if kg_class not in _KEYGEN_TYPE_BY_CLASS:
        raise UnsupportedTableError(
            f"{where}: table {name!r} has hoodie.table.keygenerator.class={kg_class}; the embedded writer cannot "
            "compute its keys (supported: Simple, Complex, Nonpartitioned, TimestampBased and Custom key "
            "generators). Use engine 'glue' for this table."
        )
    return _KEYGEN_TYPE_BY_CLASS[kg_class]


def _partition_fields(
    props: dict[str, str], keygen: KeyGenerator | None, name: str, where: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Partition field names and, for CustomKeyGenerator, their types (``field:type``)."""
    raw = [f.strip() for f in props.get("hoodie.table.partition.fields", "").split(",") if f.strip()]
    if keygen != KeyGenerator.CUSTOM:
        return tuple(raw), ()
    names, types = [], []
    for item in raw:
        field_name, _, typ = item.partition(":")
        if typ.strip().lower() not in ("simple", "timestamp"):
            raise UnsupportedTableError(
                f"{where}: table {name!r} uses CustomKeyGenerator but hoodie.table.partition.fields={','.join(raw)} "
                "does not say each field's type (field:simple or field:timestamp; Hudi 0.x does not store it). "
                "Write the types into hoodie.table.partition.fields or use engine 'glue' for this table."
            )
        names.append(field_name.strip())
        types.append(typ.strip().lower())
    return tuple(names), tuple(types)


def _fmt(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "(none)"
    if value is None:
        return "(none)"
    return str(value).lower() if isinstance(value, bool) else str(value)


def table_checksum(database: str, table: str) -> int:
    """``hoodie.table.checksum``: CRC32 of ``"<database>.<table>"`` (Java ``HoodieTableConfig``)."""
    return zlib.crc32(f"{database}.{table}".encode())


# --- Java properties ---------------------------------------------------------------------------


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java ``.properties`` text (comments, ``\\`` escapes, ``=`` or ``:`` separators)."""
    result: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line) and i < len(lines):
            line = line[:-1] + lines[i].lstrip()
            i += 1
        key, value = _split_kv(line)
        result[_unescape(key)] = _unescape(value)
    return result


def _continues(line: str) -> bool:
    n = len(line) - len(line.rstrip("\\"))
    return n % 2 == 1


def _split_kv(line: str) -> tuple[str, str]:
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c in "=: \t":
            key = line[:i]
            rest = line[i:].lstrip(" \t")
            if rest and rest[0] in "=:" and c in " \t":
                rest = rest[1:].lstrip(" \t")
            elif c in "=:":
                rest = line[i + 1 :].lstrip(" \t")
            return key, rest
        i += 1
    return line, ""


def _unescape(s: str) -> str:
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "u" and i + 5 < len(s) + 0:
                out.append(chr(int(s[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _escape(s: str, key: bool = False) -> str:
    out = []
    for idx, c in enumerate(s):
        if c in "\\=:#!":
            out.append("\\" + c)
        elif c == " " and (key or idx == 0):
            out.append("\\ ")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) > 126 or ord(c) < 32:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def format_properties(props: dict[str, str], stamp: str) -> str:
    """Java-style properties text, in the given order, with a ``#Properties saved`` header."""
    lines = [f"#Properties saved on {stamp}", f"#{stamp}"]
    lines += [f"{_escape(k, key=True)}={_escape(v)}" for k, v in props.items()]
    return "\n".join(lines) + "\n"
