"""Validate config rows as a whole: each row against its model, then the rules between rows.

The same function serves YAML files (``config validate`` / ``apply``: any problem refuses the
whole change) and rows read back from the metadata DB (a bad row disables only itself and what
depends on it, with the reason kept for ``flows list`` / ``tables list`` and the DAG factory).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from tributary.config.loader import RawRow
from tributary.config.models import (
    SECTIONS,
    Engine,
    Flow,
    RawTable,
    RefreshCadence,
    TableType,
    Template,
    TemplateKind,
)
from tributary.config.problems import Problem


@dataclass(frozen=True)
class ConfigSet:
    """Validated config: every row here passed every rule. ``problems`` name what was left out."""

    templates: dict[str, Template] = field(default_factory=dict)
    cadences: dict[str, RefreshCadence] = field(default_factory=dict)
    tables: dict[str, RawTable] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    def disabled(self, section: str) -> dict[str, str]:
        """Row id → reason for rows of ``section`` left out because of a problem."""
        reasons: dict[str, str] = {}
        for p in self.problems:
            if p.section == section and p.row not in reasons:
                reasons[p.row] = f"{p.field + ': ' if p.field else ''}{p.message}"
        return reasons


def _loc_to_field(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_problems(row: RawRow, exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check its spelling against the documented fields"
        elif err["type"] == "missing":
            msg = "required field is missing"
        fld = _loc_to_field(loc) or None
        # model-level validators report "field: message"; lift the field out of the message
        if fld is None and ": " in msg and msg.split(": ", 1)[0].isidentifier():
            fld, msg = msg.split(": ", 1)
        problems.append(Problem(row.file, row.line_of(loc or fld), row.section, row.label, fld, msg))
    return problems


def validate_rows(rows: list[RawRow]) -> ConfigSet:
    """Validate rows; return what is valid and every problem, each naming file/line/row/field."""
    problems: list[Problem] = []
    parsed: dict[str, dict[str, tuple[BaseModel, RawRow]]] = {s: {} for s in SECTIONS}

    for row in rows:
        model_cls = SECTIONS[row.section]
        try:
            model = model_cls.model_validate(row.data)
        except ValidationError as exc:
            problems.extend(_model_problems(row, exc))
            continue
        key = model.key()  # type: ignore[attr-defined]
        if key in parsed[row.section]:
            first = parsed[row.section][key][1]
            problems.append(
                Problem(
                    row.file,
                    row.line,
                    row.section,
                    key,
                    None,
                    f"duplicate id; first defined at {first.file}:{first.line}",
                )
            )
            continue
        parsed[row.section][key] = (model, row)

    def p(row: RawRow, field_name: str | None, message: str, loc: tuple[str | int, ...] | None = None) -> None:
        problems.append(Problem(row.file, row.line_of(loc or field_name), row.section, row.label, field_name, message))

    templates = {k: m for k, (m, _) in parsed["templates"].items()}
    cadences = {k: m for k, (m, _) in parsed["refresh_cadences"].items()}

    # raw tables: declared cadence, engine fits table type, unique locations and names
    tables: dict[str, RawTable] = {}
    seen: dict[tuple[str, str], str] = {}
    for key, (table, row) in parsed["raw_tables"].items():
        assert isinstance(table, RawTable)
        ok = True
        cadence = cadences.get(table.refresh_cadence)
        if cadence is None:
            p(
                row,
                "refresh_cadence",
                f"cadence {table.refresh_cadence!r} is not declared in refresh_cadences",
            )
            ok = False
        elif table.table_type is TableType.MERGE_ON_READ and cadence.engine is not Engine.GLUE:
            p(
                row,
                "table_type",
                "MERGE_ON_READ needs the glue engine; the local engine writes COPY_ON_WRITE only",
            )
            ok = False
        elif cadence.engine is Engine.GLUE and not cadence.reads_table_version(table.table_version):
            p(
                row,
                "table_version",
                f"table version {table.table_version} needs Glue 5.1 or later (Hudi 1.0), but cadence "
                f"{cadence.cadence_id!r} runs its glue jobs on Glue {cadence.glue_version} (Hudi 0.15, table "
                f"version 6); set refresh_cadences[{cadence.cadence_id}].glue_version to 5.1, or table_version to 6",
            )
            ok = False
        for what, value in (
            ("staging_prefix", table.staging_prefix.rstrip("/")),
            ("target_uri", table.target_uri),
            ("table_name", f"{table.database_name}.{table.table_name}"),
        ):
            other = seen.get((what, value))
            if other:
                p(row, what, f"{value!r} is already used by table {other!r}")
                ok = False
            seen[(what, value)] = key
        if ok:
            tables[key] = table
    prefixes = sorted((t.staging_prefix.rstrip("/") + "/", k) for k, t in tables.items())
    for (a, ka), (b, kb) in itertools.pairwise(prefixes):
        if b.startswith(a):
            row = parsed["raw_tables"][kb][1]
            p(
                row,
                "staging_prefix",
                f"{b!r} lies inside the staging prefix of table {ka!r}; files would be ambiguous",
            )
            tables.pop(kb, None)

    # flows: templates exist, params fit schemas, upstream tasks exist, no cycles, unique dag ids
    flows: dict[str, Flow] = {}
    dag_ids: dict[str, str] = {}
    for key, (flow, row) in parsed["flows"].items():
        assert isinstance(flow, Flow)
        before = len(problems)
        task_ids = [t.task_id for t in flow.tasks]
        for i, task in enumerate(flow.tasks):
            loc: tuple[str | int, ...] = ("tasks", i)
            if task_ids.count(task.task_id) > 1 and task_ids.index(task.task_id) != i:
                p(row, f"tasks[{i}].task_id", f"duplicate task id {task.task_id!r}", (*loc, "task_id"))
            template = templates.get(task.template_id)
            if template is None:
                p(
                    row,
                    f"tasks[{i}].template_id",
                    f"unknown template {task.template_id!r}; declare it in templates",
                    (*loc, "template_id"),
                )
            else:
                _check_params(flow, i, task.params, template, cadences, p, row)
            for up in task.upstream:
                if up not in task_ids:
                    p(
                        row,
                        f"tasks[{i}].upstream",
                        f"unknown upstream task {up!r} in flow {flow.flow_id!r}",
                        (*loc, "upstream"),
                    )
                elif up == task.task_id:
                    p(row, f"tasks[{i}].upstream", "a task cannot be its own upstream", (*loc, "upstream"))
        cycle = find_cycle({t.task_id: list(t.upstream) for t in flow.tasks})
        if cycle:
            p(row, "tasks", f"task dependencies form a cycle: {' -> '.join(cycle)}")
        other = dag_ids.get(flow.effective_dag_id)
        if other:
            p(row, "dag_id", f"DAG id {flow.effective_dag_id!r} is already used by flow {other!r}")
        if len(problems) == before:
            flows[key] = flow
            dag_ids[flow.effective_dag_id] = key

    return ConfigSet(
        templates=templates,
        cadences=cadences,
        tables=tables,
        flows=flows,
        problems=tuple(sorted(problems, key=lambda x: (x.file, x.line or 0, x.row))),
    )


def _check_params(
    flow: Flow,
    index: int,
    params: dict[str, Any],
    template: Template,
    cadences: dict[str, RefreshCadence],
    p: Any,
    row: RawRow,
) -> None:
    validator = jsonschema.Draft202012Validator(template.params_schema)
    for err in sorted(validator.iter_errors(params), key=lambda e: list(e.path)):
        where = ".".join(str(x) for x in err.path)
        field_name = f"tasks[{index}].params" + (f".{where}" if where else "")
        p(
            row,
            field_name,
            f"does not match template {template.template_id!r}: {err.message}",
            ("tasks", index, "params", *err.path),
        )
    if template.kind is TemplateKind.CDC_TO_HUDI:
        cadence = params.get("cadence")
        if isinstance(cadence, str) and cadence not in cadences:
            p(
                row,
                f"tasks[{index}].params.cadence",
                f"cadence {cadence!r} is not declared in refresh_cadences",
                ("tasks", index, "params", "cadence"),
            )


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``node -> upstream nodes`` as a path (first node repeated at the end), or None."""
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for up in graph.get(node, []):
            if up not in graph:
                continue
            if state[up] == 1:
                return [*stack[stack.index(up) :], up]
            if state[up] == 0:
                found = visit(up)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state[node] == 0:
            found = visit(node)
            if found:
                return found
    return None
