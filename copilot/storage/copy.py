"""Copying rows from one database to another (`copilot db copy`): the columns both sides have, in batches,
rows already present left alone."""

from __future__ import annotations

from collections.abc import Sequence

from copilot.storage.database import Database

_BATCH = 500


def columns(db: Database, table: str) -> list[str] | None:
    """The table's columns, or None when it has no such table."""
    try:
        return db.read(f"SELECT * FROM {table} LIMIT 0").columns
    except Exception:  # no such table: each engine raises its own error
        return None


def copy_tables(source: Database, targets: dict[str, Database], tables: Sequence[str]) -> dict[str, int]:
    """Rows inserted per table, for the `tables` (in this order: parents before children) the source has."""
    copied: dict[str, int] = {}
    for table in tables:
        have, target = columns(source, table), targets[table]
        want = columns(target, table)
        if have is None or want is None:
            continue
        shared = [c for c in have if c in want]
        names, marks = ", ".join(shared), ", ".join("?" for _ in shared)
        insert = f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        rows = source.read(f"SELECT {names} FROM {table}").rows
        copied[table] = 0
        for start in range(0, len(rows), _BATCH):
            with target.transaction() as tx:
                copied[table] += sum(max(tx.run(insert, row).rowcount, 0) for row in rows[start : start + _BATCH])
    return copied
