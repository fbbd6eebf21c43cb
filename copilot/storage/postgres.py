"""PostgreSQL, shared by every replica: psycopg 3 with a connection pool, statements translated from the `?`
placeholders the stores write, and migrations applied once under an advisory lock.

psycopg is imported here only, when `COPILOT_DATABASE_URL` is set: the embedded default never loads it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from copilot.storage.database import Database, DatabaseConfigError, DatabaseUnavailable, Migrations, Result

# one lock for every copilot's migrations on this database (any fixed 64-bit number will do)
_MIGRATION_LOCK = 0x636F70696C6F74  # "copilot"
_SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS copilot_schema (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


def _translated(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def location(url: str) -> str:
    """host:port/database of a URL, without the user's password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


def check_url(url: str) -> None:
    """A malformed URL is named before anything connects."""
    problem = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in ("postgresql", "postgres"):
            problem = f"it starts with {parts.scheme + '://' if parts.scheme else 'no scheme'}"
        elif not parts.hostname:
            problem = "it names no host"
        elif parts.path in ("", "/"):
            problem = "it names no database"
    if problem:
        raise DatabaseConfigError(
            f"COPILOT_DATABASE_URL is not a PostgreSQL URL ({problem}): write it as "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or unset it to use the embedded SQLite files"
        )


def _connection_problem(url: str, exc: Exception) -> DatabaseConfigError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    lowered = text.lower()
    place = location(url)
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        hint = "the user or password in COPILOT_DATABASE_URL is wrong"
    elif re.search(r"database \".*\" does not exist", lowered):
        hint = "the database does not exist: create it (createdb) or fix the name in COPILOT_DATABASE_URL"
    elif "could not translate host name" in lowered or "name or service not known" in lowered:
        hint = "the host name does not resolve: fix the host in COPILOT_DATABASE_URL"
    elif "connection refused" in lowered or "timeout" in lowered or "could not connect" in lowered:
        hint = "nothing answers there: start PostgreSQL or fix the host and port in COPILOT_DATABASE_URL"
    else:
        hint = "check COPILOT_DATABASE_URL and that PostgreSQL accepts this user"
    return DatabaseConfigError(f"cannot connect to PostgreSQL at {place}: {hint} ({text})")


class _Tx:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def run(self, sql: str, values: Sequence[Any] = ()) -> Result:
        cursor = self.conn.execute(_translated(sql), tuple(values))
        columns = [d.name for d in cursor.description or ()]
        rows = [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        return Result(rows=rows, rowcount=cursor.rowcount, columns=columns)


class PostgresDatabase(Database):
    engine = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(self, url: str, pool_size: int = 10, timeout: float = 5.0) -> None:
        check_url(url)
        self.url = url
        self.timeout = timeout
        try:
            # connect once directly: a wrong password or host is told apart here, at start-up
            psycopg.connect(url, connect_timeout=max(1, round(timeout))).close()
        except psycopg.Error as exc:
            raise _connection_problem(url, exc) from exc
        self.pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, timeout=timeout, open=False, name="copilot",
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
            # a connection broken by a restart of the server is noticed and replaced when it is taken
            check=ConnectionPool.check_connection,
        )
        self.pool.open(wait=True, timeout=timeout)

    @property
    def where(self) -> str:
        return location(self.url)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise DatabaseUnavailable(
                f"the database at {self.where} is not reachable ({exc.__class__.__name__}): retry in a moment"
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        with self._connection() as conn, conn.transaction():
            yield _Tx(conn)

    def read(self, sql: str, values: Sequence[Any] = ()) -> Result:
        with self._connection() as conn:
            return _Tx(conn).run(sql, values)

    def version(self, component: str) -> int:
        with self._connection() as conn:
            exists = conn.execute("SELECT to_regclass('copilot_schema')").fetchone()
            if not exists or exists[0] is None:
                return 0
            row = conn.execute("SELECT version FROM copilot_schema WHERE component = %s", (component,)).fetchone()
        return int(row[0]) if row else 0

    def migrate(self, migrations: Migrations) -> list[int]:
        applied = []
        with self.transaction() as tx:
            # every copilot migrating this database at once waits here; the first applies, the others find it done
            tx.run(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            tx.run(_SCHEMA_TABLE)
            found = int(tx.run("SELECT version FROM copilot_schema WHERE component = ?", (migrations.component,)).scalar() or 0)
            for number in range(found + 1, migrations.latest + 1):
                for statement in migrations.statements(number):
                    tx.run(statement)
                applied.append(number)
            if applied:
                tx.run("INSERT INTO copilot_schema (component, version) VALUES (?, ?) ON CONFLICT (component) "
                       "DO UPDATE SET version = EXCLUDED.version, updated_at = now()", (migrations.component, applied[-1]))
        return applied

    def vacuum(self, tables: list[str], full: bool = False) -> None:
        with self._connection() as conn:  # autocommit: VACUUM cannot run inside a transaction
            conn.execute(f"VACUUM ({'FULL, ' if full else ''}ANALYZE) {', '.join(tables)}")

    def scrub(self) -> None:
        # deleted rows stay in the table's pages until VACUUM reuses them (autovacuum, or `copilot db vacuum`)
        return None

    def close(self) -> None:
        self.pool.close()
