"""Where the copilot's state lives: the audit log, feedback, idempotency keys, live conversations and (with
several replicas) the rate-limit counters. SQLite files are the embedded default; PostgreSQL, set with
`COPILOT_DATABASE_URL`, is shared by every replica. Both run the same numbered migrations."""

from copilot.storage.database import (
    Database,
    DatabaseConfigError,
    DatabaseUnavailable,
    Migrations,
    Result,
    SchemaMismatch,
)
from copilot.storage.sqlite import SQLiteDatabase

__all__ = [
    "Database",
    "DatabaseConfigError",
    "DatabaseUnavailable",
    "Migrations",
    "Result",
    "SQLiteDatabase",
    "SchemaMismatch",
]
