"""A SQLite file with numbered schema migrations (PRAGMA user_version), WAL, one connection per thread, and
one transaction per write: a crash leaves either the whole record or nothing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import ClassVar


class SQLiteFile:
    MIGRATIONS: ClassVar[list[str]] = []
    PRAGMAS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            for pragma in self.PRAGMAS:
                db.execute(f"PRAGMA {pragma}")
            self._local.db = db
        return db

    def _migrate(self) -> None:
        db = self._db()
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(self.MIGRATIONS[version:], start=version + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in (s.strip() for s in script.split(";")):
                    if statement:
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
                db.execute("COMMIT")
            except Exception:
                db.execute("ROLLBACK")
                raise

    @property
    def version(self) -> int:
        return self._db().execute("PRAGMA user_version").fetchone()[0]

    def _write(self, sql: str, values: list | tuple) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(sql, values)
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise

    def _insert(self, table: str, row: dict) -> None:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self._write(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
