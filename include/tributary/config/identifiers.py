"""Rules for identifiers that become paths, SQL names, table names or DAG ids.

Config values never reach a path, a SQL statement or a template unchecked: every name passes
one of these patterns first. The patterns are deliberately narrower than what Airflow, Hudi or
PostgreSQL would accept, so a value that passes is safe in all of them.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
"""Template, flow, task, cadence, column, schema and table names."""
CATALOG_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
"""Glue Data Catalog database and table names as Athena queries them unquoted."""
DAG_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
TABLE_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\.[A-Za-z_][A-Za-z0-9_]{0,127}$")
S3_URI_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9_.=/-]*)?$")
RELATIVE_PATH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=/-]*$")
FILE_URI_RE = re.compile(r"^file:///[A-Za-z0-9_.=/-]+$")
POOL_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
ENTRY_POINT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
SECRET_ID_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")


def _check(pattern: re.Pattern[str], what: str, hint: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}: {hint}")
        return value

    return AfterValidator(check)


Name = Annotated[
    str,
    _check(NAME_RE, "name", "use letters, digits and underscores, starting with a letter or underscore"),
]
DagId = Annotated[
    str,
    _check(DAG_ID_RE, "DAG id", "use letters, digits, '_', '.', '-' (no slashes, spaces or quotes)"),
]
TableId = Annotated[str, _check(TABLE_ID_RE, "table id", "write it as <schema>.<table> with plain names")]
PoolName = Annotated[str, _check(POOL_RE, "pool name", "use letters, digits, '_', '.', '-'")]
TopicArn = Annotated[str, _check(ARN_RE, "SNS topic ARN", "write arn:aws:sns:<region>:<account>:<topic>")]
EntryPoint = Annotated[
    str,
    _check(ENTRY_POINT_RE, "entry point", "write <python.module>:<callable>, e.g. tributary.templates:echo"),
]
SecretId = Annotated[str, _check(SECRET_ID_RE, "secret id", "use letters, digits and / _ + = . @ -")]


def _one_spelling(value: str) -> str:
    """``lake/t/`` and ``lake/t`` name one folder, and so do ``lake//t`` and ``lake/t`` on a local
    disk: keep one spelling. S3 keys keep their slashes (``a//b`` is another key), less a trailing one."""
    scheme, sep, path = value.rpartition("://") if "://" in value else ("", "", value)
    if scheme != "s3":
        lead = "/" if path.startswith("/") else ""
        path = lead + "/".join(p for p in path.split("/") if p)
    stripped = path.rstrip("/")
    return f"{scheme}{sep}{stripped or path}"


def check_location(value: str) -> str:
    """A storage location: ``s3://bucket/prefix``, ``file:///abs/path`` or a relative path
    (resolved under the Tributary data folder), returned in one spelling (no trailing slash).
    ``..`` segments, empty segments (``//``), bare absolute paths, spaces, quotes and shell or SQL
    metacharacters are refused. Which folder it names and whether another row's location overlaps
    it is checked by :mod:`tributary.config.location_rules`."""
    value = _one_spelling(value)
    parts = value.split("://", 1)[-1].split("/")
    if any(p in ("..", ".") for p in parts):
        raise ValueError(f"{value!r} contains a '.' or '..' segment; write the location without it")
    if "//" in value.split("://", 1)[-1]:  # S3 keys: 'a//b' and 'a/b' are different objects
        raise ValueError(f"{value!r} has an empty key segment ('//'); write it with single slashes")
    if value.startswith("s3://"):
        if not S3_URI_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a valid S3 URI: write s3://<bucket>/<prefix> with letters, digits, _ . = - /"
            )
        return value
    if value.startswith("file://"):
        if not FILE_URI_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid file URI: write file:///absolute/path")
        return value
    if "://" in value:
        raise ValueError(f"{value!r} uses an unsupported scheme: use s3://, file:/// or a relative path")
    if value.startswith("/"):
        raise ValueError(f"{value!r} is a bare absolute path: write file://{value} if you mean it")
    if not RELATIVE_PATH_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid relative path: use letters, digits, _ . = - and / (no spaces or quotes)"
        )
    return value


Location = Annotated[str, AfterValidator(check_location)]
