"""Idempotency keys shared by every replica: the first request with a key holds it while it runs; a retry
(on any replica) waits for that answer and gets it back, instead of drafting or storing again.

A key whose holder died (a replica killed mid-request) is free again when its lease ends."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from copilot.errors import Conflict, InvalidInput
from copilot.storage import Database


class KeyReused(InvalidInput):
    """The key was first used for a different request."""

    code = "idempotency_key_reused"


class KeyBusy(Conflict):
    """The first request with this key is still running."""

    code = "idempotency_key_busy"


@dataclass(frozen=True)
class Replay:
    response: str
    status: int


class IdempotencyKeys:
    def __init__(self, db: Database, lease_seconds: float = 60.0, wait_seconds: float = 30.0) -> None:
        self.db = db  # the audit log's database, whose migrations made the table
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds

    def claim(self, client: str, key: str, fingerprint: str) -> Replay | None:
        """None when this request now holds the key (it must then `complete` or `release` it); the first answer
        when there is one. Waits while another request holds the key."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            found = self._try(client, key, fingerprint)
            if isinstance(found, Replay):
                return found
            if found is False:
                return None
            if time.monotonic() > deadline:
                raise KeyBusy("the first request with this Idempotency-Key is still running: retry in a few seconds")
            time.sleep(0.05)

    def _try(self, client: str, key: str, fingerprint: str) -> Replay | bool:
        """False: claimed now; True: held by another request; a Replay: answered already."""
        now = time.time()
        with self.db.transaction() as tx:
            inserted = tx.run(
                "INSERT INTO idempotency (client, key, suggestion_id, response, created_at, fingerprint, lease_until) "
                "VALUES (?, ?, '', '', ?, ?, ?) ON CONFLICT DO NOTHING",
                (client, key, datetime.now(UTC).isoformat(timespec="seconds"), fingerprint, now + self.lease_seconds),
            ).rowcount
            if inserted:
                return False
            row = tx.run("SELECT response, status, fingerprint, lease_until FROM idempotency WHERE client = ? AND key = ?"
                         + self.db.for_update, (client, key)).one()
            if row is None:  # released between the two statements
                return True
            response, status, first, lease_until = row
            if first and first != fingerprint:
                raise KeyReused("this Idempotency-Key was first used for a different request: use a new key for a new request")
            if lease_until is None:
                return Replay(response=response, status=status or 200)
            if lease_until > now:
                return True
            # its holder stopped without answering: this request takes the key over
            tx.run("UPDATE idempotency SET lease_until = ? WHERE client = ? AND key = ?", (now + self.lease_seconds, client, key))
            return False

    def complete(self, client: str, key: str, response: str, status: int = 200, suggestion_id: str = "") -> None:
        self.db.run("UPDATE idempotency SET response = ?, status = ?, suggestion_id = ?, lease_until = NULL "
                    "WHERE client = ? AND key = ?", (response, status, suggestion_id, client, key))

    def release(self, client: str, key: str) -> None:
        """The request failed: the key is free for a retry."""
        self.db.run("DELETE FROM idempotency WHERE client = ? AND key = ? AND lease_until IS NOT NULL", (client, key))
