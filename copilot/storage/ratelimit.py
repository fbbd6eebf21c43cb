"""Rate limits: a token bucket per client, refilled continuously. In process memory for one server; in the
shared database when several replicas serve the same clients, so the limit holds across all of them."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from copilot.storage.database import Database, Migrations

MIGRATIONS = Migrations("rate_limits", [
    """
    CREATE TABLE rate_limits (
        client TEXT PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        updated DOUBLE PRECISION NOT NULL
    )
    """,
])


class RateLimiter(Protocol):
    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        ...


def _bucket(tokens: float, elapsed: float, per_minute: int) -> tuple[float, float]:
    """The tokens left after this request and the wait (0: it may go ahead)."""
    rate = per_minute / 60.0
    tokens = min(float(per_minute), tokens + max(elapsed, 0.0) * rate)
    if tokens >= 1:
        return tokens - 1, 0.0
    return tokens, (1 - tokens) / rate


class MemoryRateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens, wait = _bucket(tokens, now - last, self.per_minute)
            self._buckets[client] = (tokens, now)
            return wait


class SharedRateLimiter:
    """The buckets in the shared database: one row per client, locked while a request takes its token."""

    def __init__(self, db: Database, per_minute: int) -> None:
        self.db = db
        self.per_minute = per_minute
        db.prepare(MIGRATIONS)

    def take(self, client: str) -> float:
        now = time.time()  # the replicas' clocks agree closely enough (NTP) for a refill rate per minute
        with self.db.transaction() as tx:
            tx.run("INSERT INTO rate_limits (client, tokens, updated) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                   (client, float(self.per_minute), now))
            tokens, updated = tx.run("SELECT tokens, updated FROM rate_limits WHERE client = ?" + self.db.for_update, (client,)).one()
            tokens, wait = _bucket(float(tokens), now - float(updated), self.per_minute)
            tx.run("UPDATE rate_limits SET tokens = ?, updated = ? WHERE client = ?", (tokens, now, client))
        return wait
