"""Engines, sessions and migrations of the metadata database (SQLite or PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tributary.errors import MetadataError
from tributary.settings import get_settings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
_CREATED: list[Engine] = []


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (the driver the lock ships)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per URL; SQLite gets foreign keys, WAL and a busy timeout."""
    url = normalise_url(url or get_settings().db_url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLite's default deferred BEGIN lets two writers both read then fail to upgrade; an
        # immediate BEGIN takes the write lock up front (waiting busy_timeout for it).
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    _CREATED.append(engine)
    return engine


def dispose_engines() -> None:
    """Close the pools of every engine this process created (e.g. before a fork) and forget them."""
    while _CREATED:
        _CREATED.pop().dispose()
    get_engine.cache_clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: commit on success, roll back on error; DB errors become MetadataError."""
    factory = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise MetadataError(
            f"metadata DB {describe_url(url)} is unavailable or busy: {exc.orig}; check TRIBUTARY_DB_URL "
            "and that the server is running"
        ) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def describe_url(url: str | None = None) -> str:
    """The DB URL with any password hidden, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(normalise_url(url or get_settings().db_url)).render_as_string(hide_password=True)


def alembic_config(url: str | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url or get_settings().db_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Migrate the metadata DB to ``revision``; return the revision it is at afterwards."""
    from alembic import command

    cfg = alembic_config(url)
    try:
        with get_engine(url).begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except SQLAlchemyError as exc:
        raise MetadataError(f"migrating {describe_url(url)} failed: {exc}") from exc
    return current_revision(url) or "base"


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    try:
        with get_engine(url).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise MetadataError(f"cannot reach the metadata DB {describe_url(url)}: {exc}") from exc


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def require_migrated(url: str | None = None) -> None:
    """Raise a clear error when the DB is not at the head migration."""
    current = current_revision(url)
    if current != head_revision():
        has_tables = bool(inspect(get_engine(url)).get_table_names())
        state = f"at revision {current}" if current else ("not managed by Tributary" if has_tables else "empty")
        raise MetadataError(f"metadata DB {describe_url(url)} is {state}; run `tributary db upgrade` first")
