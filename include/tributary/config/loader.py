"""Load YAML config files into raw rows that remember where each row and field came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tributary.config.models import ID_FIELDS, SECTIONS
from tributary.config.problems import Problem


@dataclass
class RawRow:
    """One row as written in YAML, before validation."""

    section: str
    data: dict[str, Any]
    file: str
    line: int
    field_lines: dict[str, int] = field(default_factory=dict)
    positioned: dict[str, Any] | None = None
    """The row with the loader's position keys, to find the line of a nested field."""

    @property
    def label(self) -> str:
        """The row's id as written, or its position when the id is missing."""
        if self.section == "raw_tables":
            schema, table = self.data.get("source_schema"), self.data.get("source_table")
            if isinstance(schema, str) and isinstance(table, str):
                return f"{schema}.{table}"
        value = self.data.get(ID_FIELDS[self.section])
        return str(value) if isinstance(value, str | int) else f"#{self.line}"

    def line_of(self, loc: tuple[str | int, ...] | str | None) -> int:
        """Line of a field, or of the deepest part of a nested location that YAML marked."""
        if loc is None:
            return self.line
        if isinstance(loc, str):
            loc = (loc,)
        line = self.field_lines.get(str(loc[0]), self.line) if loc else self.line
        node: Any = self.positioned
        for part in loc:
            if isinstance(node, dict) and part in node:
                line = node.get("__lines__", {}).get(str(part), line)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
                if isinstance(node, dict):
                    line = node.get("__line__", line)
            else:
                break
        return line


MAX_DEPTH = 64
"""How deeply YAML may nest; deeper input would exhaust the composer's recursion."""
MAX_ALIAS_GROWTH = 10
"""Aliases may make a document at most this many times larger (plus :data:`ALIAS_ALLOWANCE`
values) than it is written: ``<<: *defaults`` per row is fine, a 'billion laughs' is not."""
ALIAS_ALLOWANCE = 100_000


class _LineLoader(yaml.SafeLoader):
    """A safe loader that keeps the line of every mapping and of each of its keys, and refuses
    nesting deeper than :data:`MAX_DEPTH`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels; flatten it", self.peek_event().start_mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand it past :data:`MAX_ALIAS_GROWTH` or loop.

    Sizes are counted once per distinct node (memoised, iteratively), so the check itself stays
    linear in what is written, however much the aliases would expand."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            on_path.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in _children(node))
            continue
        if id(node) in size:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise yaml.composer.ComposerError(
                    None, None, "an alias refers to a value that holds it (a loop)", child.start_mark
                )
            if id(child) not in size:
                stack.append((child, False))
    written, expanded = len(size), size[id(root)]
    if expanded > MAX_ALIAS_GROWTH * written + ALIAS_ALLOWANCE:
        raise yaml.composer.ComposerError(
            None,
            None,
            f"aliases expand {written:,} written values to {expanded:,}; write the rows out instead of nesting aliases",
            root.start_mark,
        )


def _parse(text: str) -> Any:
    """The YAML document in ``text`` (None when empty), within the depth and alias limits."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be plain text", key_node.start_mark)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        lines[str(key)] = key_node.start_mark.line + 1
    result["__line__"] = node.start_mark.line + 1
    result["__lines__"] = lines
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def strip_positions(value: Any) -> Any:
    """Remove the position keys the loader adds, recursively."""
    if isinstance(value, dict):
        return {k: strip_positions(v) for k, v in value.items() if k not in ("__line__", "__lines__")}
    if isinstance(value, list):
        return [strip_positions(v) for v in value]
    return value


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, folders as their ``*.yaml``/``*.yml`` files (recursively, sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            files.append(path)
    return files


def load_files(paths: list[Path]) -> tuple[list[RawRow], list[Problem]]:
    """Read every file; return raw rows and the problems found while reading (syntax, shape)."""
    rows: list[RawRow] = []
    problems: list[Problem] = []
    files = expand_paths(paths)
    if not files:
        problems.append(
            Problem(
                ", ".join(map(str, paths)) or "-",
                None,
                "config",
                "-",
                None,
                "no YAML files found; pass config files or a folder holding *.yaml",
            )
        )
    for path in files:
        rows_, problems_ = load_file(path)
        rows.extend(rows_)
        problems.extend(problems_)
    return rows, problems


def load_file(path: Path) -> tuple[list[RawRow], list[Problem]]:
    """The rows of one YAML config file, and the problems that keep the file or a row out."""
    name = str(path)
    document, problem = _read_document(path)
    if problem is not None:
        return [], [problem]
    if document is None:
        return [], []
    rows: list[RawRow] = []
    problems: list[Problem] = []
    lines = document.get("__lines__", {})
    for section, value in document.items():
        if section in ("__line__", "__lines__"):
            continue
        if section not in SECTIONS:
            problems.append(
                Problem(
                    name,
                    lines.get(str(section)),
                    "file",
                    "-",
                    str(section),
                    f"unknown section; use one of {', '.join(SECTIONS)}",
                )
            )
            continue
        section_rows, section_problems = _section_rows(name, section, value, lines.get(section))
        rows.extend(section_rows)
        problems.extend(section_problems)
    return rows, problems


def _read_document(path: Path) -> tuple[dict[Any, Any] | None, Problem | None]:
    """The file's YAML mapping (None for an empty file), or the problem that keeps it out."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, Problem(name, None, "file", "-", None, "file not found")
    except (OSError, UnicodeDecodeError) as exc:
        return None, Problem(name, None, "file", "-", None, f"cannot read the file: {exc}")
    try:
        document = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, Problem(name, line, "file", "-", None, f"invalid YAML: {exc.problem or exc}")
    except yaml.YAMLError as exc:
        return None, Problem(name, None, "file", "-", None, f"invalid YAML: {exc}")
    if document is not None and not isinstance(document, dict):
        return None, Problem(
            name, 1, "file", "-", None, f"the file must be a mapping with sections {', '.join(SECTIONS)}"
        )
    return document, None


def _section_rows(name: str, section: str, value: object, line: int | None) -> tuple[list[RawRow], list[Problem]]:
    """The rows of one section (a list of mappings) at ``line`` of file ``name``."""
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [
            Problem(name, line, section, "-", None, "the section must be a list of rows (each starting with '- ')")
        ]
    rows: list[RawRow] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            problems.append(
                Problem(name, line, section, f"#{index + 1}", None, "each row must be a mapping of field: value")
            )
            continue
        rows.append(
            RawRow(
                section=section,
                data=strip_positions(item),
                file=name,
                line=item.get("__line__", 0),
                field_lines=dict(item.get("__lines__", {})),
                positioned=item,
            )
        )
    return rows, problems
