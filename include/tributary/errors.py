"""The one exception tree of Tributary.

Every error a user can cause derives from :class:`TributaryError` and carries a message that
names the file, row, field or table and says what to do. The CLI prints these without a
traceback and exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

# Importable with the standard library alone: the Glue job ships this module (templates/glue.py).


class TributaryError(Exception):
    """Base of every expected, user-facing error."""

    exit_code: int = 1


# --- configuration -------------------------------------------------------------------------


class ConfigError(TributaryError):
    """Configuration cannot be loaded or is invalid."""

    exit_code = 2


class ConfigValidationError(ConfigError):
    """One or more problems found in configuration; ``problems`` lists each of them."""

    def __init__(self, problems: list) -> None:  # list[config.problems.Problem]
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} configuration problem(s):\n{lines}")


class SnapshotError(ConfigError):
    """The config snapshot that DAG files read is missing or unreadable."""


# --- metadata database -----------------------------------------------------------------------


class MetadataError(TributaryError):
    """The metadata database is unreachable, not migrated, or refused an operation."""


class NotFoundError(MetadataError):
    """A named row (flow, table, file, lock) does not exist."""


# --- storage ---------------------------------------------------------------------------------


class StorageError(TributaryError):
    """A path or URI cannot be read or written."""


# --- Hudi tables -----------------------------------------------------------------------------


class HudiError(TributaryError):
    """A Hudi table cannot be opened or written."""


class UnsupportedTableError(HudiError):
    """The table uses a feature the embedded writer does not support (MOR, metadata table, ...)."""


class TableConfigMismatchError(HudiError):
    """Options given for a write do not match the existing table's configuration."""


class SchemaEvolutionError(HudiError):
    """An incoming schema change is not a compatible evolution of the table schema."""


class CommitConflictError(HudiError):
    """Another writer committed, or the writer lost its lease, while this commit was prepared."""


class TableChangedError(CommitConflictError):
    """The Spark job found a newer commit than the one its batch was planned from; not written."""


# --- CDC input -------------------------------------------------------------------------------


class CdcError(TributaryError):
    """CDC input cannot be applied."""


class CdcFileError(CdcError):
    """One CDC file is unreadable or violates the DMS format; names the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# --- locks and processing --------------------------------------------------------------------


class LockError(TributaryError):
    """A table lease cannot be acquired or was lost."""


class LeaseLostError(LockError):
    """The holder's lease expired or was taken over; it must not write (fencing)."""


class ProcessingError(TributaryError):
    """A table, batch or cadence failed to process."""


class CatalogError(TributaryError):
    """The data catalog (Glue) could not be brought in step with a table; the table's commits
    stand and the next run retries the sync."""


# --- alerts, events, airflow -----------------------------------------------------------------


class AlertError(TributaryError):
    """An alert could not be published (it stays in the outbox and is retried)."""


class EventError(TributaryError):
    """An event payload cannot be parsed."""


class InvokerFailedError(TributaryError):
    """Some flows could not be triggered (Lambda retries a non-SQS event)."""


class AirflowApiError(TributaryError):
    """The Airflow REST API refused a request."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class AirflowAuthError(AirflowApiError):
    """The Airflow REST API refused the credentials (401) or the permission (403)."""


class AirflowUnavailableError(AirflowApiError):
    """The Airflow REST API kept failing (5xx, timeouts, refused connections) after every retry."""


class StackError(TributaryError):
    """The local stack cannot be started, stopped or inspected."""


class DemoError(TributaryError):
    """The demo cannot run or did not finish; the message says why and what to do."""


class TemplateRenderError(TributaryError):
    """A task's params could not be rendered, or the template reached for something refused."""


class TaskConfigError(TributaryError):
    """A task's config rows (flow task, template) are missing or invalid when the task runs."""


class TemplateRunError(TributaryError):
    """A template (python, glue, lambda, sql, cdc_to_hudi) failed while running."""


class DagFactoryError(TributaryError):
    """One or more flows cannot be turned into DAGs (strict mode raises this)."""


class FlowPlanError(DagFactoryError):
    """One flow cannot be planned into a DAG; ``field`` names the flow field at fault."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class SparkJobError(TemplateRunError):
    """A distributed-engine (Spark / Glue) run of cdc_to_hudi failed or reported failed tables."""


class BatchError(SparkJobError):
    """The Spark job's batch argument is missing or not valid JSON of the expected shape."""


class OpsQueryError(TributaryError):
    """A request to the ops API names a table, file or parameter that is malformed or unknown."""


class OpsNotFoundError(OpsQueryError):
    """The ops API was asked for a table or file that does not exist."""
