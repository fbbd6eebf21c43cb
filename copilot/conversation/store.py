"""Conversations in any `Database`: turns appended as they arrive, in one order whichever replica receives
them.

Turn text is kept as sent (drafting needs the order numbers in it); the audit log, which is exported and
kept longer, only ever holds masked text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import NamedTuple

from copilot.conversation.models import ConversationStart, MessageIn
from copilot.errors import Conflict
from copilot.storage import Database, Migrations

MIGRATIONS = Migrations("conversations", [
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        client TEXT,
        start TEXT NOT NULL
    );
    CREATE TABLE turns (
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        idx INTEGER NOT NULL,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (conversation_id, idx)
    );
    """,
    # 2: a turn posted again with the same idempotency key is stored once
    """
    ALTER TABLE turns ADD COLUMN request_key TEXT;
    CREATE UNIQUE INDEX turns_request_key ON turns(conversation_id, request_key)
    """,
])


class ConversationExists(Conflict, ValueError):
    """A conversation with this id was already started."""

    code = "conversation_exists"


class Appended(NamedTuple):
    index: int
    new: bool  # False: the same turn was sent before (same request key) and is not stored again


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.prepare(MIGRATIONS)

    def create(self, conversation_id: str, start: ConversationStart, client: str | None = None) -> datetime:
        created = datetime.now(UTC)
        stored = self.db.run(
            "INSERT INTO conversations (id, created_at, client, start) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (conversation_id, created.isoformat(), client, start.model_dump_json()),
        ).rowcount
        if not stored:
            raise ConversationExists(f"a conversation with id {conversation_id!r} already exists: add messages to it instead")
        return created

    def exists(self, conversation_id: str) -> bool:
        return self.db.read("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).one() is not None

    def append(self, conversation_id: str, message: MessageIn, at: datetime, request_key: str | None = None) -> Appended | None:
        """Add a turn; where it went, or None if there is no such conversation. The conversation is locked while the
        index is taken, so appends through several replicas at once never clash; a turn sent again with the
        same `request_key` is not stored twice (the first one's index is returned)."""
        with self.db.transaction() as tx:
            if tx.run("SELECT id FROM conversations WHERE id = ?" + self.db.for_update, (conversation_id,)).one() is None:
                return None
            if request_key is not None:
                seen = tx.run("SELECT idx FROM turns WHERE conversation_id = ? AND request_key = ?",
                              (conversation_id, request_key)).scalar()
                if seen is not None:
                    return Appended(int(seen), new=False)
            index = int(tx.run("SELECT coalesce(max(idx) + 1, 0) FROM turns WHERE conversation_id = ?", (conversation_id,)).scalar())
            tx.run("INSERT INTO turns (conversation_id, idx, role, text, at, request_key) VALUES (?, ?, ?, ?, ?, ?)",
                   (conversation_id, index, message.role, message.text, at.isoformat(), request_key))
        return Appended(index, new=True)

    def load(self, conversation_id: str) -> tuple[datetime, ConversationStart, list[tuple[int, str, str, datetime]]] | None:
        row = self.db.read("SELECT created_at, start FROM conversations WHERE id = ?", (conversation_id,)).one()
        if row is None:
            return None
        turns = [(i, role, text, datetime.fromisoformat(at)) for i, role, text, at in self.db.read(
            "SELECT idx, role, text, at FROM turns WHERE conversation_id = ? ORDER BY idx", (conversation_id,)).rows]
        return datetime.fromisoformat(row[0]), ConversationStart.model_validate(json.loads(row[1])), turns

    def version(self, conversation_id: str) -> tuple[str, int] | None:
        """When the conversation was created and how many turns it has: what a cached reading depends on (a
        conversation forgotten and started again under the same id is another one)."""
        row = self.db.read("SELECT c.created_at, (SELECT count(*) FROM turns t WHERE t.conversation_id = c.id) "
                           "FROM conversations c WHERE c.id = ?", (conversation_id,)).one()
        return (row[0], int(row[1])) if row else None

    def delete(self, conversation_id: str) -> bool:
        """Remove a conversation and its turns (one transaction); False if there was none."""
        with self.db.transaction() as tx:
            tx.run("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            gone = tx.run("DELETE FROM conversations WHERE id = ?", (conversation_id,)).rowcount
        self.db.scrub()
        return bool(gone)
