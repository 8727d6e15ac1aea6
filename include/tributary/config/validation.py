"""Validate config rows as a whole: each row against its model, then the rules between rows.

The same function serves YAML files (``config validate`` / ``apply``: any problem refuses the
whole change) and rows read back from the metadata DB (a bad row disables only itself and what
depends on it, with the reason kept for ``flows list`` / ``tables list`` and the DAG factory).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from tributary.config.graphs import find_cycle
from tributary.config.loader import RawRow
from tributary.config.location_rules import LOCATION_FIELDS, Place, location_problems, place_of
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
from tributary.config.schema_safety import params_validator
from tributary.settings import get_settings


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


class _Report(Protocol):
    """Records a problem of ``row`` at ``field_name`` (``loc``: where in the row, for its line)."""

    def __call__(
        self, row: RawRow, field_name: str | None, message: str, loc: tuple[str | int, ...] | None = None
    ) -> None: ...


_Parsed = dict[str, tuple[BaseModel, RawRow]]
_Model = TypeVar("_Model", bound=BaseModel)


def _key(model: BaseModel) -> str:
    if isinstance(model, (Template, RefreshCadence, RawTable, Flow)):
        return model.key()
    raise TypeError(f"not a config row model: {type(model).__name__}")


def _section(parsed: _Parsed, model_cls: type[_Model]) -> dict[str, tuple[_Model, RawRow]]:
    """The rows of one section, typed as the section's model."""
    return {key: (model, row) for key, (model, row) in parsed.items() if isinstance(model, model_cls)}


def validate_rows(rows: list[RawRow]) -> ConfigSet:
    """Validate rows; return what is valid and every problem, each naming file/line/row/field."""
    problems: list[Problem] = []
    parsed = _parse_rows(rows, problems)

    def p(row: RawRow, field_name: str | None, message: str, loc: tuple[str | int, ...] | None = None) -> None:
        problems.append(Problem(row.file, row.line_of(loc or field_name), row.section, row.label, field_name, message))

    templates = {k: m for k, (m, _) in _section(parsed["templates"], Template).items()}
    cadences = {k: m for k, (m, _) in _section(parsed["refresh_cadences"], RefreshCadence).items()}
    tables = _valid_tables(_section(parsed["raw_tables"], RawTable), cadences, p)
    broken_templates = {
        pr.row: f"{pr.file}:{pr.line}: {pr.field + ': ' if pr.field else ''}{pr.message}"
        for pr in reversed(problems)
        if pr.section == "templates"
    }
    flows = _valid_flows(_section(parsed["flows"], Flow), templates, cadences, broken_templates, p)
    return ConfigSet(
        templates=templates,
        cadences=cadences,
        tables=tables,
        flows=flows,
        problems=tuple(sorted(problems, key=lambda x: (x.file, x.line or 0, x.row))),
    )


def _parse_rows(rows: list[RawRow], problems: list[Problem]) -> dict[str, _Parsed]:
    """Each row validated against its section's model, by section and id; a row that fails its
    model or repeats an id is left out with its problems."""
    parsed: dict[str, _Parsed] = {s: {} for s in SECTIONS}
    for row in rows:
        model_cls = SECTIONS[row.section]
        try:
            model = model_cls.model_validate(row.data)
        except ValidationError as exc:
            problems.extend(_model_problems(row, exc))
            continue
        key = _key(model)
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
    return parsed


class _Counted:
    """A report that counts what it reports (a flow is valid when its count stays 0)."""

    def __init__(self, report: _Report) -> None:
        self.report = report
        self.count = 0

    def __call__(
        self, row: RawRow, field_name: str | None, message: str, loc: tuple[str | int, ...] | None = None
    ) -> None:
        self.count += 1
        self.report(row, field_name, message, loc)


def _valid_flows(
    parsed: dict[str, tuple[Flow, RawRow]],
    templates: dict[str, Template],
    cadences: dict[str, RefreshCadence],
    broken_templates: dict[str, str],
    report: _Report,
) -> dict[str, Flow]:
    """Flows whose templates exist, whose params fit their schemas, whose upstream tasks exist
    without a cycle and whose DAG id is unique."""
    flows: dict[str, Flow] = {}
    dag_ids: dict[str, str] = {}
    for key, (flow, row) in parsed.items():
        p = _Counted(report)
        _check_tasks(flow, row, templates, cadences, broken_templates, p)
        cycle = find_cycle({t.task_id: list(t.upstream) for t in flow.tasks})
        if cycle:
            shown = cycle if len(cycle) <= 12 else [*cycle[:5], f"... ({len(cycle) - 10} more)", *cycle[-5:]]
            p(row, "tasks", f"task dependencies form a cycle: {' -> '.join(shown)}")
        other = dag_ids.get(flow.effective_dag_id)
        if other:
            p(row, "dag_id", f"DAG id {flow.effective_dag_id!r} is already used by flow {other!r}")
        if p.count == 0:
            flows[key] = flow
            dag_ids[flow.effective_dag_id] = key
    return flows


def _check_tasks(
    flow: Flow,
    row: RawRow,
    templates: dict[str, Template],
    cadences: dict[str, RefreshCadence],
    broken_templates: dict[str, str],
    p: _Report,
) -> None:
    """Report the flow's task problems: duplicate ids, missing templates, params, upstream tasks."""
    task_ids = [t.task_id for t in flow.tasks]
    for i, task in enumerate(flow.tasks):
        loc: tuple[str | int, ...] = ("tasks", i)
        if task_ids.count(task.task_id) > 1 and task_ids.index(task.task_id) != i:
            p(row, f"tasks[{i}].task_id", f"duplicate task id {task.task_id!r}", (*loc, "task_id"))
        template = templates.get(task.template_id)
        if template is None:
            broken = broken_templates.get(task.template_id)
            p(
                row,
                f"tasks[{i}].template_id",
                f"template {task.template_id!r} is invalid ({broken}); fix its row"
                if broken
                else f"unknown template {task.template_id!r}; declare it in templates",
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


def _valid_tables(
    parsed: dict[str, tuple[RawTable, RawRow]], cadences: dict[str, RefreshCadence], p: _Report
) -> dict[str, RawTable]:
    """Raw tables whose cadence is declared, whose engine fits the table type, whose catalog name
    is unique and whose locations no other table shares or nests in (:mod:`.location_rules`)."""
    tables: dict[str, RawTable] = {}
    names: dict[str, str] = {}
    places: list[Place] = []
    home = get_settings().home.resolve()
    for key, (table, row) in parsed.items():
        ok = True
        cadence = cadences.get(table.refresh_cadence)
        if cadence is None:
            p(row, "refresh_cadence", f"cadence {table.refresh_cadence!r} is not declared in refresh_cadences")
            ok = False
        elif table.table_type is TableType.MERGE_ON_READ and cadence.engine is not Engine.GLUE:
            p(row, "table_type", "MERGE_ON_READ needs the glue engine; the local engine writes COPY_ON_WRITE only")
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
        name = f"{table.database_name}.{table.table_name}"
        if name in names:
            p(row, "table_name", f"{name!r} is already used by table {names[name]!r}")
            ok = False
        names.setdefault(name, key)
        where = f"{row.file}:{row.line}" if row.line else row.file  # DB rows have no line
        places.extend(place_of(key, f, getattr(table, f), where, home) for f in LOCATION_FIELDS)
        if ok:
            tables[key] = table
    for problem in location_problems(places, home):
        p(parsed[problem.table_id][1], problem.field, problem.message)
        tables.pop(problem.table_id, None)
    return tables


def _check_params(
    flow: Flow,
    index: int,
    params: dict[str, Any],
    template: Template,
    cadences: dict[str, RefreshCadence],
    p: _Report,
    row: RawRow,
) -> None:
    validator = params_validator(template.params_schema)
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
