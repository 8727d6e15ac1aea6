"""A small Avro binary codec and object-container-file reader/writer.

Enough for Hudi's timeline files (v8 instants, requested replace metadata): records, unions,
maps, arrays, primitives, fixed and enums; codecs ``null`` and ``deflate``. There is no Avro
library in this environment, and the timeline files are tiny.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from typing import Any

MAGIC = b"Obj\x01"
Schema = Any  # parsed Avro JSON: str | list | dict


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class _Names:
    """Named types seen while walking a schema (for references by name)."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}

    def register(self, schema: dict[str, Any], namespace: str | None) -> str | None:
        name = schema.get("name")
        if not name:
            return namespace
        ns = schema.get("namespace", namespace)
        full = name if "." in name or not ns else f"{ns}.{name}"
        self.types[full] = schema
        self.types.setdefault(name, schema)
        return full.rsplit(".", 1)[0] if "." in full else ns

    def walk(self, schema: Schema, namespace: str | None = None) -> _Names:
        """Register every named type of ``schema`` up front: a type defined in a union branch
        that a value skips (null) may still be referenced by name later."""
        if isinstance(schema, list):
            for branch in schema:
                self.walk(branch, namespace)
        elif isinstance(schema, dict):
            t = schema.get("type")
            if t in ("record", "enum", "fixed"):
                inner = self.register(schema, namespace)
                for f in schema.get("fields", []):
                    self.walk(f["type"], inner)
            elif t in ("array", "map"):
                self.walk(schema.get("items" if t == "array" else "values"), namespace)
            elif isinstance(t, (dict, list)):
                self.walk(t, namespace)
        return self

    def resolve(self, name: str, namespace: str | None) -> dict[str, Any]:
        if namespace and f"{namespace}.{name}" in self.types:
            return self.types[f"{namespace}.{name}"]
        if name in self.types:
            return self.types[name]
        raise ValueError(f"unknown Avro type {name!r}")


_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _matches(schema: Schema, value: Any, names: _Names, ns: str | None) -> bool:
    if isinstance(schema, str) and schema not in _PRIMITIVES:
        schema = names.resolve(schema, ns)
    t = schema if isinstance(schema, str) else schema.get("type") if isinstance(schema, dict) else "union"
    if isinstance(t, (dict, list)):
        return _matches(t, value, names, ns)
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if t in ("int", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if t in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "string":
        return isinstance(value, str)
    if t in ("bytes", "fixed"):
        return isinstance(value, (bytes, bytearray))
    if t in ("record", "map"):
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, (list, tuple))
    if t == "enum":
        return isinstance(value, str)
    return False


def _encode(schema: Schema, value: Any, out: io.BytesIO, names: _Names, ns: str | None) -> None:
    if isinstance(schema, list):
        for i, branch in enumerate(schema):
            if _matches(branch, value, names, ns):
                out.write(_zigzag(i))
                _encode(branch, value, out, names, ns)
                return
        raise ValueError(f"value {value!r} matches no branch of union {schema}")
    if isinstance(schema, str):
        if schema not in _PRIMITIVES:
            _encode(names.resolve(schema, ns), value, out, names, ns)
            return
        t = schema
    else:
        t = schema["type"]
        if isinstance(t, (dict, list)):
            _encode(t, value, out, names, ns)
            return
    if t in _PRIMITIVES:
        _encode_primitive(t, value, out)
    else:
        _encode_complex(schema, t, value, out, names, ns)


def _encode_primitive(t: str, value: Any, out: io.BytesIO) -> None:
    if t == "null":
        return
    if t == "boolean":
        out.write(b"\x01" if value else b"\x00")
    elif t in ("int", "long"):
        out.write(_zigzag(int(value)))
    elif t == "float":
        out.write(struct.pack("<f", value))
    elif t == "double":
        out.write(struct.pack("<d", value))
    else:  # string, bytes
        data = value.encode("utf-8") if t == "string" else bytes(value)
        out.write(_zigzag(len(data)))
        out.write(data)


def _encode_complex(schema: Schema, t: str, value: Any, out: io.BytesIO, names: _Names, ns: str | None) -> None:
    """Fixed, enum, record, map and array values (named types registered for later references)."""
    if t == "fixed":
        names.register(schema, ns)
        out.write(bytes(value))
    elif t == "enum":
        names.register(schema, ns)
        out.write(_zigzag(schema["symbols"].index(value)))
    elif t == "record":
        inner_ns = names.register(schema, ns)
        for f in schema["fields"]:
            if f["name"] in value:
                v = value[f["name"]]
            elif "default" in f:
                v = f["default"]
            else:
                v = None
            _encode(f["type"], v, out, names, inner_ns)
    elif t == "map":
        if value:
            out.write(_zigzag(len(value)))
            for k, v in value.items():
                _encode("string", k, out, names, ns)
                _encode(schema["values"], v, out, names, ns)
        out.write(b"\x00")
    elif t == "array":
        if value:
            out.write(_zigzag(len(value)))
            for v in value:
                _encode(schema["items"], v, out, names, ns)
        out.write(b"\x00")
    else:
        raise ValueError(f"unsupported Avro type {t!r}")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.buf = data
        self.pos = 0

    def long(self) -> int:
        shift = 0
        result = 0
        while True:
            b = self.buf[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        return (result >> 1) ^ -(result & 1)

    def read(self, n: int) -> bytes:
        data = self.buf[self.pos : self.pos + n]
        self.pos += n
        return data


def _decode(schema: Schema, r: _Reader, names: _Names, ns: str | None) -> Any:
    if isinstance(schema, list):
        return _decode(schema[r.long()], r, names, ns)
    if isinstance(schema, str):
        if schema not in _PRIMITIVES:
            return _decode(names.resolve(schema, ns), r, names, ns)
        t = schema
    else:
        t = schema["type"]
        if isinstance(t, (dict, list)):
            return _decode(t, r, names, ns)
    if t == "null":
        return None
    if t == "boolean":
        return r.read(1) != b"\x00"
    if t in ("int", "long"):
        return r.long()
    if t == "float":
        return struct.unpack("<f", r.read(4))[0]
    if t == "double":
        return struct.unpack("<d", r.read(8))[0]
    if t == "bytes":
        return r.read(r.long())
    if t == "string":
        return r.read(r.long()).decode("utf-8")
    if t == "fixed":
        names.register(schema, ns)
        return r.read(schema["size"])
    if t == "enum":
        names.register(schema, ns)
        return schema["symbols"][r.long()]
    if t == "record":
        inner_ns = names.register(schema, ns)
        return {f["name"]: _decode(f["type"], r, names, inner_ns) for f in schema["fields"]}
    if t in ("map", "array"):
        items: Any = {} if t == "map" else []
        while True:
            n = r.long()
            if n == 0:
                break
            if n < 0:
                n = -n
                r.long()  # block size in bytes
            for _ in range(n):
                if t == "map":
                    k = r.read(r.long()).decode("utf-8")
                    items[k] = _decode(schema["values"], r, names, ns)
                else:
                    items.append(_decode(schema["items"], r, names, ns))
        return items
    raise ValueError(f"unsupported Avro type {t!r}")


def encode_datum(schema: Schema, value: Any) -> bytes:
    out = io.BytesIO()
    _encode(schema, value, out, _Names().walk(schema), None)
    return out.getvalue()


def decode_datum(schema: Schema, data: bytes) -> Any:
    """One Avro binary value of ``schema`` (no container)."""
    return _decode(schema, _Reader(data), _Names().walk(schema), None)


def write_container(schema: Schema, records: list[Any]) -> bytes:
    """An Avro object container file (codec null) holding ``records``."""
    schema_json = json.dumps(schema, separators=(",", ":"))
    out = io.BytesIO()
    out.write(MAGIC)
    meta_schema = {"type": "map", "values": "bytes"}
    out.write(encode_datum(meta_schema, {"avro.schema": schema_json.encode("utf-8")}))
    sync = os.urandom(16)
    out.write(sync)
    if records:
        body = b"".join(encode_datum(schema, rec) for rec in records)
        out.write(_zigzag(len(records)))
        out.write(_zigzag(len(body)))
        out.write(body)
        out.write(sync)
    return out.getvalue()


def read_container(data: bytes) -> tuple[Schema, list[Any]]:
    """Schema and records of an Avro object container file."""
    if data[:4] != MAGIC:
        raise ValueError("not an Avro object container file")
    r = _Reader(data)
    r.pos = 4
    meta = _decode({"type": "map", "values": "bytes"}, r, _Names(), None)
    schema = json.loads(meta["avro.schema"].decode("utf-8"))
    codec = meta.get("avro.codec", b"null").decode()
    sync = r.read(16)
    records: list[Any] = []
    while r.pos < len(data):
        count = r.long()
        size = r.long()
        block = r.read(size)
        if codec == "deflate":
            block = zlib.decompress(block, -15)
        elif codec != "null":
            raise ValueError(f"unsupported Avro codec {codec}")
        br = _Reader(block)
        for _ in range(count):
            records.append(_decode(schema, br, _Names().walk(schema), None))
        if r.read(16) != sync:
            raise ValueError("Avro sync marker mismatch")
    return schema, records
