"""A SQLite file (the embedded default): WAL, one connection per thread, `BEGIN IMMEDIATE` write transactions
so concurrent writers queue instead of failing, secure_delete so deleted text is overwritten rather than
unlinked, and the schema version in `PRAGMA user_version` (one component per file)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from copilot.storage.database import Database, Migrations, Result


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def run(self, sql: str, values: Sequence[Any] = ()) -> Result:
        cursor = self.db.execute(sql, tuple(values))
        columns = [d[0] for d in cursor.description or ()]
        return Result(rows=[tuple(r) for r in cursor.fetchall()], rowcount=cursor.rowcount, columns=columns)


class SQLiteDatabase(Database):
    engine = "sqlite"
    migrates_itself = True

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    @property
    def where(self) -> str:
        return str(self.path)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA secure_delete=ON")
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield _Tx(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def read(self, sql: str, values: Sequence[Any] = ()) -> Result:
        return _Tx(self._db()).run(sql, values)

    def version(self, component: str) -> int:
        return int(self._db().execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, migrations: Migrations) -> list[int]:
        applied = []
        for number in range(self.version(migrations.component) + 1, migrations.latest + 1):
            with self.transaction() as tx:
                if int(tx.run("PRAGMA user_version").scalar()) >= number:
                    continue  # another process got there first
                for statement in migrations.statements(number):
                    tx.run(statement)
                tx.run(f"PRAGMA user_version = {number}")
            applied.append(number)
        return applied

    def vacuum(self, tables: list[str], full: bool = False) -> None:
        self._db().execute("VACUUM")  # always a rewrite of the whole file: SQLite has no lighter or per-table one

    def scrub(self) -> None:
        # the deleted rows' old pages leave the write-ahead log (with secure_delete they are zeroed in the file)
        self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
