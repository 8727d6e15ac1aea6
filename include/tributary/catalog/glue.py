"""The Glue Data Catalog calls a sync needs, through the Amazon provider's ``GlueCatalogHook``.

Every call names the database and table; a missing database or table reads as None, every other
failure (throttling after botocore's retries, a catalog outage) raises :class:`CatalogError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tributary.errors import CatalogError
from tributary.settings import get_settings

log = logging.getLogger(__name__)

#: BatchCreatePartition and BatchGetPartition take at most 100 partitions per request
PARTITION_BATCH = 100


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _batches(items: Sequence[Any], size: int = PARTITION_BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class GlueCatalog:
    """One database/table pair in the Glue Data Catalog."""

    def __init__(self, database: str, table: str, client: Any = None, *, aws_conn_id: str | None = None) -> None:
        self.database = database
        self.table = table
        if client is None:
            from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

            settings = get_settings()
            hook = GlueCatalogHook(aws_conn_id=aws_conn_id or settings.aws_conn_id, region_name=settings.aws_region)
            client = hook.get_conn()
        self.client = client

    @property
    def name(self) -> str:
        return f"{self.database}.{self.table}"

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(**kwargs)
        except ClientError as exc:
            if _code(exc) == "EntityNotFoundException":
                return None
            raise CatalogError(f"Glue {what} for {self.name} failed: {_code(exc)}: {exc}") from exc
        except BotoCoreError as exc:
            raise CatalogError(f"Glue {what} for {self.name} failed: {exc}") from exc

    def ensure_database(self) -> bool:
        """Create the database when missing; True when it was created."""
        if self._call("GetDatabase", "get_database", Name=self.database) is not None:
            return False
        try:
            self.client.create_database(
                DatabaseInput={"Name": self.database, "Description": "Raw Hudi tables registered by Tributary"}
            )
        except ClientError as exc:
            if _code(exc) == "AlreadyExistsException":
                return False
            raise CatalogError(f"Glue CreateDatabase {self.database} failed: {_code(exc)}: {exc}") from exc
        except BotoCoreError as exc:
            raise CatalogError(f"Glue CreateDatabase {self.database} failed: {exc}") from exc
        log.info("created Glue database %s", self.database)
        return True

    def get_table(self) -> dict[str, Any] | None:
        response = self._call("GetTable", "get_table", DatabaseName=self.database, Name=self.table)
        return None if response is None else dict(response["Table"])

    def create_table(self, table_input: dict[str, Any]) -> None:
        self._call("CreateTable", "create_table", DatabaseName=self.database, TableInput=table_input)
        log.info("created Glue table %s", self.name)

    def update_table(self, table_input: dict[str, Any]) -> None:
        self._call("UpdateTable", "update_table", DatabaseName=self.database, TableInput=table_input)

    def all_partition_values(self) -> set[tuple[str, ...]]:
        """The values of every partition the catalog holds (paged)."""
        out: set[tuple[str, ...]] = set()
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"DatabaseName": self.database, "TableName": self.table}
            if token:
                kwargs["NextToken"] = token
            page = self._call("GetPartitions", "get_partitions", **kwargs) or {}
            out.update(tuple(p["Values"]) for p in page.get("Partitions", []))
            token = page.get("NextToken")
            if not token:
                return out

    def existing_partition_values(self, values: Sequence[Sequence[str]]) -> set[tuple[str, ...]]:
        """Which of ``values`` the catalog holds (BatchGetPartition, 100 at a time)."""
        out: set[tuple[str, ...]] = set()
        for batch in _batches(values):
            page = self._call(
                "BatchGetPartition",
                "batch_get_partition",
                DatabaseName=self.database,
                TableName=self.table,
                PartitionsToGet=[{"Values": list(v)} for v in batch],
            )
            out.update(tuple(p["Values"]) for p in (page or {}).get("Partitions", []))
        return out

    def add_partitions(self, partitions: Sequence[dict[str, Any]]) -> int:
        """Create partitions in batches of 100; one that already exists is not an error."""
        added = 0
        for batch in _batches(partitions):
            response = self._call(
                "BatchCreatePartition",
                "batch_create_partition",
                DatabaseName=self.database,
                TableName=self.table,
                PartitionInputList=list(batch),
            )
            errors = [
                e
                for e in (response or {}).get("Errors", [])
                if e["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException"
            ]
            if errors:
                first = errors[0]
                raise CatalogError(
                    f"Glue BatchCreatePartition for {self.name} refused {len(errors)} partition(s), e.g. "
                    f"{first['PartitionValues']}: {first['ErrorDetail'].get('ErrorMessage', '')}"
                )
            added += len(batch)
        return added
