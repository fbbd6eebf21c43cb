"""One small interface over the two engines: statements written once (`?` placeholders, `ON CONFLICT`),
transactions as context managers, and numbered migrations per component."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from copilot.errors import InvalidInput, Unavailable


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached right now; the request can be retried (the API answers 503)."""

    code = "database_unavailable"


class DatabaseConfigError(InvalidInput):
    """The database setting is wrong or the database is not ready: one line saying what and what to run."""

    code = "database_config"


class SchemaMismatch(DatabaseConfigError):
    """The database's schema is older (or newer) than this copilot's."""


@dataclass(frozen=True)
class Migrations:
    """A component's numbered schema changes: script n takes the schema from version n-1 to n."""

    component: str
    scripts: Sequence[str]

    @property
    def latest(self) -> int:
        return len(self.scripts)

    def statements(self, number: int) -> list[str]:
        return [s.strip() for s in self.scripts[number - 1].split(";") if s.strip()]


@dataclass
class Result:
    rows: list[tuple] = field(default_factory=list)
    rowcount: int = 0
    columns: list[str] = field(default_factory=list)

    def one(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        row = self.one()
        return row[0] if row else None

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Transaction(Protocol):
    def run(self, sql: str, values: Sequence[Any] = ()) -> Result: ...


class Database(ABC):
    """A place for the stores' tables. `for_update` is what a SELECT needs to lock the rows it reads until the
    transaction ends (SQLite's write transactions already exclude each other)."""

    engine: ClassVar[str]
    for_update: ClassVar[str] = ""
    migrates_itself: ClassVar[bool] = False

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction: committed when the block ends, rolled back if it raises."""

    def run(self, sql: str, values: Sequence[Any] = ()) -> Result:
        """One statement in its own transaction."""
        with self.transaction() as tx:
            return tx.run(sql, values)

    @abstractmethod
    def read(self, sql: str, values: Sequence[Any] = ()) -> Result:
        """One read, outside any write transaction."""

    @abstractmethod
    def version(self, component: str) -> int:
        """The component's schema version here (0: none of its tables yet)."""

    @abstractmethod
    def migrate(self, migrations: Migrations) -> list[int]:
        """Apply the component's missing migrations, each once and in its own transaction; the numbers applied."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the data is, for messages (never with a password)."""

    def prepare(self, migrations: Migrations) -> None:
        """Make the component usable: the embedded SQLite file migrates itself; a shared database is migrated by
        `copilot db migrate`, and a store refuses to start on a schema that is not this copilot's."""
        if self.migrates_itself:
            self.migrate(migrations)
        else:
            self.require(migrations)

    def require(self, migrations: Migrations) -> None:
        found = self.version(migrations.component)
        if found < migrations.latest:
            state = "has no copilot tables yet" if found == 0 else f"is at schema version {found} of {migrations.latest}"
            raise SchemaMismatch(
                f"the database at {self.where} {state} for the {migrations.component} store: run `copilot db migrate`"
            )
        if found > migrations.latest:
            raise SchemaMismatch(
                f"the database at {self.where} is at schema version {found} for the {migrations.component} store, newer "
                f"than this copilot knows ({migrations.latest}): upgrade the copilot, or point it at another database"
            )

    @abstractmethod
    def scrub(self) -> None:
        """After personal data was deleted: make the engine drop its copies where it can at once."""

    @abstractmethod
    def vacuum(self, tables: list[str], full: bool = False) -> None:
        """Make the space of deleted rows reusable (`full`: rewrite the tables, so none of it is left)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
