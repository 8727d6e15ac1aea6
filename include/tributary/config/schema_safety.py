"""Template params schemas that cannot reach the network, recurse forever or hang on a regex.

A params schema is config, and config must not be able to make a reader fetch URLs or files
(remote ``$ref``), loop (``{"$ref": "#"}`` sent every later config read into ``RecursionError``)
or backtrack for hours (``"pattern": "^(a+)+$"``). So:

- ``$ref`` must be a local JSON pointer (``#/$defs/name``) to a part of the same schema, and refs
  must not lead back into themselves; ``$id``, anchors and dynamic refs (which change what a
  ref resolves against) are refused. Validators are built with an empty ``referencing`` registry,
  so nothing is ever retrieved, whatever slipped through.
- ``pattern`` is matched with RE2 (google-re2), which runs in time linear in the input: no
  pattern can backtrack. Patterns RE2 cannot run (backreferences, lookaround) are refused at
  validation with that reason. ``patternProperties`` is refused: jsonschema matches those keys
  with Python's backtracking ``re`` (also inside ``additionalProperties``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema import ValidationError

MAX_DEPTH = 32
"""How deeply a params schema may nest."""
MAX_REFS = 256
_NAME_MAPS = ("properties", "$defs", "definitions", "dependentSchemas")
DIALECT = "https://json-schema.org/draft/2020-12/schema"
_REFUSED_KEYWORDS = {
    "$id": "it changes what refs resolve against",
    "id": "it changes what refs resolve against",
    "$anchor": "refer to $defs with '#/$defs/<name>' instead",
    "$dynamicAnchor": "refer to $defs with '#/$defs/<name>' instead",
    "$dynamicRef": "use a plain local '$ref' to '#/$defs/<name>'",
    "$recursiveRef": "use a plain local '$ref' to '#/$defs/<name>'",
    "$recursiveAnchor": "use a plain local '$ref' to '#/$defs/<name>'",
    "patternProperties": "its keys are matched with a backtracking regex engine; list the properties instead",
}


def _walk(schema: Any) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """Every mapping in ``schema`` with its JSON pointer parts, iteratively (no recursion)."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), schema)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_DEPTH:
            raise ValueError(f"nests deeper than {MAX_DEPTH} levels at {_pointer(path)}; flatten it")
        if isinstance(node, Mapping):
            yield path, node
            stack.extend(((*path, str(k)), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, str(i)), v) for i, v in enumerate(node))


def _pointer(path: tuple[str, ...]) -> str:
    return "#" + "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)


def _target(ref: Any, where: tuple[str, ...], schema: Mapping[str, Any]) -> tuple[str, ...]:
    """The pointer parts a local ``$ref`` names; refuse every other kind of ref."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise ValueError(
            f"$ref {ref!r} at {_pointer(where)} is not a local reference; write '#/$defs/<name>' "
            "(no URLs, files or the whole schema '#')"
        )
    parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))
    node: Any = schema
    for part in parts:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ValueError(f"$ref {ref!r} at {_pointer(where)} names nothing in the schema; define it under $defs")
    return parts


def _check_ref_cycles(refs: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> None:
    """Refuse refs that lead back into themselves: ref A reaches ref B when B sits inside A's target."""
    from tributary.config.graphs import find_cycle

    def inside(path: tuple[str, ...], folder: tuple[str, ...]) -> bool:
        return path[: len(folder)] == folder

    names = [_pointer(where) for where, _ in refs]
    graph = {
        names[i]: [names[j] for j, (other, _) in enumerate(refs) if inside(other, target)]
        for i, (_, target) in enumerate(refs)
    }
    cycle = find_cycle(graph)
    if cycle:
        raise ValueError(f"$ref is recursive ({' -> '.join(cycle)}); a params schema cannot refer back to itself")


def check_params_schema(schema: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first unsafe part of a params schema (see the module doc)."""
    refs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for path, node in _walk(schema):
        if path and path[-1] in _NAME_MAPS:
            continue  # a map of names to schemas: its keys are names, not keywords
        for keyword, why in _REFUSED_KEYWORDS.items():
            if keyword in node and not (keyword == "id" and not isinstance(node[keyword], str)):
                raise ValueError(f"{keyword!r} at {_pointer(path)} is not allowed in a params schema: {why}")
        if "$schema" in node and node["$schema"] != DIALECT:
            raise ValueError(f"$schema at {_pointer(path)} must be {DIALECT!r} or left out")
        if "$ref" in node:
            refs.append((path, _target(node["$ref"], path, schema)))
            if len(refs) > MAX_REFS:
                raise ValueError(f"more than {MAX_REFS} $refs; simplify the schema")
        if "pattern" in node:
            _check_pattern(node["pattern"], path)
    _check_ref_cycles(refs)


@lru_cache(maxsize=256)
def _re2(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (quietly: RE2 would log refused patterns to stderr)."""
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def _check_pattern(pattern: Any, path: tuple[str, ...]) -> None:
    import re2

    if not isinstance(pattern, str):
        raise ValueError(f"pattern at {_pointer(path)} must be a string")
    try:
        _re2(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"pattern {pattern!r} at {_pointer(path)} cannot run in linear time ({reason}); "
            "drop backreferences and lookaround, keep repetitions at most {1000}"
        ) from None


def _re2_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _re2(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_SafeValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _re2_pattern})


def params_validator(schema: Mapping[str, Any]) -> Any:
    """A 2020-12 validator that matches ``pattern`` with RE2 and never retrieves a ``$ref``."""
    from referencing import Registry

    return _SafeValidator(schema, registry=Registry())
