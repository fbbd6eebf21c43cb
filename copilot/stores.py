"""The copilot's state, built once from the settings: the audit log, idempotency keys, conversations and the
rate limiter, on SQLite files (the embedded default) or on one PostgreSQL shared by every replica."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import BaseModel

from copilot.audit import AuditLog
from copilot.audit.idempotency import IdempotencyKeys
from copilot.audit.store import MIGRATIONS as AUDIT
from copilot.conversation.store import MIGRATIONS as CONVERSATIONS
from copilot.conversation.store import ConversationStore
from copilot.settings import Settings
from copilot.storage import Database, DatabaseConfigError, Migrations, SQLiteDatabase
from copilot.storage.copy import copy_tables
from copilot.storage.ratelimit import MIGRATIONS as RATE_LIMITS
from copilot.storage.ratelimit import MemoryRateLimiter, RateLimiter, SharedRateLimiter

_AUDIT_TABLES = ("suggestions", "checks", "feedback", "idempotency")
_CONVERSATION_TABLES = ("conversations", "turns")  # parents first


class ComponentState(BaseModel):
    component: str
    where: str
    version: int
    latest: int

    @property
    def current(self) -> bool:
        return self.version == self.latest


class Stores:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def shared(self) -> Database | None:
        """PostgreSQL when COPILOT_DATABASE_URL is set, else None (each store in its own SQLite file)."""
        if self.settings.database_url is None:
            return None
        # psycopg is imported only when a shared database is configured
        from copilot.storage.postgres import PostgresDatabase

        return PostgresDatabase(self.settings.database_url.get_secret_value(), pool_size=self.settings.database_pool_size,
                                timeout=self.settings.database_timeout)

    @cached_property
    def _audit_db(self) -> Database:
        return self.shared or SQLiteDatabase(self.settings.audit_path)

    @cached_property
    def _conversations_db(self) -> Database:
        return self.shared or SQLiteDatabase(self.settings.conversations_path)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self._audit_db)

    @cached_property
    def idempotency(self) -> IdempotencyKeys:
        return IdempotencyKeys(self.audit.db, lease_seconds=self.settings.idempotency_lease_seconds)

    @cached_property
    def conversations(self) -> ConversationStore:
        return ConversationStore(self._conversations_db)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        per_minute = self.settings.rate_limit_per_minute
        return SharedRateLimiter(self.shared, per_minute) if self.shared else MemoryRateLimiter(per_minute)

    def _components(self) -> list[tuple[Database, Migrations]]:
        parts = [(self._audit_db, AUDIT), (self._conversations_db, CONVERSATIONS)]
        return [*parts, (self.shared, RATE_LIMITS)] if self.shared else parts

    def migrate(self) -> dict[str, list[int]]:
        """Bring every store's schema up to date; the migrations applied, by component."""
        return {migrations.component: db.migrate(migrations) for db, migrations in self._components()}

    def state(self) -> list[ComponentState]:
        return [ComponentState(component=m.component, where=db.where, version=db.version(m.component), latest=m.latest)
                for db, m in self._components()]

    def ping(self) -> str:
        """One round trip to where the state lives (raises DatabaseUnavailable); the engine's name."""
        self.audit.db.read("SELECT 1")
        return self.audit.db.engine

    def open(self) -> None:
        """Open every store now, so a wrong setting or an old schema stops the start with one clear line
        (DatabaseConfigError) instead of failing the first request."""
        _ = self.audit, self.conversations, self.rate_limiter

    def copy_from_sqlite(self, path: Path) -> dict[str, int]:
        """Copy an existing SQLite audit log or conversations file (or a data folder holding both) into the
        current stores; rows already there are left as they are, so running it twice is harmless."""
        files = [path / "audit.sqlite3", path / "conversations.sqlite3"] if path.is_dir() else [path]
        found = [f for f in files if f.exists()]
        if not found:
            raise DatabaseConfigError(f"nothing to copy: {path} has no audit.sqlite3 or conversations.sqlite3")
        targets = dict.fromkeys(_AUDIT_TABLES, self.audit.db) | dict.fromkeys(_CONVERSATION_TABLES, self.conversations.db)
        copied: dict[str, int] = {}
        for file in found:
            copied |= copy_tables(SQLiteDatabase(file), targets, [*_AUDIT_TABLES, *_CONVERSATION_TABLES])
        return copied
