"""Conversations on disk: one SQLite file, turns appended as they arrive.

Turn text is kept as sent (drafting needs the order numbers in it); the audit log, which is exported and
kept longer, only ever holds masked text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from copilot.audit.sqlite import SQLiteFile
from copilot.conversation.models import ConversationStart, MessageIn

MIGRATIONS = [
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
]


class ConversationExists(ValueError):
    """A conversation with this id was already started."""


class ConversationStore(SQLiteFile):
    MIGRATIONS = MIGRATIONS
    PRAGMAS = ("secure_delete=ON",)  # a forgotten conversation's text is overwritten, not just unlinked

    def create(self, conversation_id: str, start: ConversationStart, client: str | None = None) -> datetime:
        created = datetime.now(UTC)
        if self.exists(conversation_id):
            raise ConversationExists(f"a conversation with id {conversation_id!r} already exists: add messages to it instead")
        self._insert("conversations", {"id": conversation_id, "created_at": created.isoformat(), "client": client,
                                       "start": start.model_dump_json()})
        return created

    def exists(self, conversation_id: str) -> bool:
        return self._db().execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone() is not None

    def append(self, conversation_id: str, message: MessageIn, at: datetime) -> int:
        """Add a turn; returns its index. The index is taken inside the write, so concurrent appends never clash."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            index = db.execute("SELECT coalesce(max(idx) + 1, 0) FROM turns WHERE conversation_id = ?", (conversation_id,)).fetchone()[0]
            db.execute("INSERT INTO turns (conversation_id, idx, role, text, at) VALUES (?, ?, ?, ?, ?)",
                       (conversation_id, index, message.role, message.text, at.isoformat()))
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        return index

    def load(self, conversation_id: str) -> tuple[datetime, ConversationStart, list[tuple[int, str, str, datetime]]] | None:
        row = self._db().execute("SELECT created_at, start FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            return None
        turns = [(i, role, text, datetime.fromisoformat(at)) for i, role, text, at in self._db().execute(
            "SELECT idx, role, text, at FROM turns WHERE conversation_id = ? ORDER BY idx", (conversation_id,))]
        return datetime.fromisoformat(row[0]), ConversationStart.model_validate(json.loads(row[1])), turns

    def delete(self, conversation_id: str) -> bool:
        """Remove a conversation and its turns (one transaction); False if there was none."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            gone = db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,)).rowcount
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # and the old pages leave the write-ahead log
        return bool(gone)

    def turn_count(self, conversation_id: str) -> int:
        return self._db().execute("SELECT count(*) FROM turns WHERE conversation_id = ?", (conversation_id,)).fetchone()[0]
