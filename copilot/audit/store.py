"""The audit log (suggestions, final checks, feedback) with masked personal data, in any `Database`."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from copilot.privacy import mask_pii
from copilot.storage import Database, Migrations

FeedbackReason = Literal["blame_removed", "wrong_policy", "tone_too_cold", "too_long", "other"]

MIGRATIONS = Migrations("audit", [
    # 1: the first schema
    """
    CREATE TABLE suggestions (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        client TEXT,
        complaint TEXT NOT NULL,
        context TEXT NOT NULL,
        analysis TEXT NOT NULL,
        drafts TEXT NOT NULL,
        engine TEXT NOT NULL,
        policy TEXT,
        timings TEXT NOT NULL,
        notices TEXT NOT NULL
    );
    CREATE INDEX suggestions_created ON suggestions(created_at);
    CREATE TABLE checks (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        client TEXT,
        suggestion_id TEXT,
        draft_kind TEXT,
        text TEXT NOT NULL,
        verdict TEXT NOT NULL,
        result TEXT NOT NULL,
        final INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX checks_created ON checks(created_at);
    CREATE TABLE feedback (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        client TEXT,
        suggestion_id TEXT NOT NULL,
        draft_kind TEXT NOT NULL,
        useful INTEGER NOT NULL,
        reason TEXT,
        final_text TEXT,
        edited INTEGER NOT NULL DEFAULT 0,
        note TEXT
    );
    CREATE INDEX feedback_created ON feedback(created_at);
    """,
    # 2: idempotent suggest requests from CRMs
    """
    CREATE TABLE idempotency (
        client TEXT NOT NULL,
        key TEXT NOT NULL,
        suggestion_id TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (client, key)
    );
    """,
    # 3: a key is held while its first request runs (several replicas may see the retry), and remembers which
    # request it was for and the answer's status
    """
    ALTER TABLE idempotency ADD COLUMN fingerprint TEXT;
    ALTER TABLE idempotency ADD COLUMN lease_until DOUBLE PRECISION;
    ALTER TABLE idempotency ADD COLUMN status INTEGER
    """,
])


AuditTable = Literal["suggestions", "checks", "feedback"]
_EXPORTED: tuple[AuditTable, ...] = ("suggestions", "checks", "feedback")


class Feedback(BaseModel):
    suggestion_id: str
    draft_kind: Literal["empathetic_reply", "expectation_lowering", "compensation"]
    useful: bool
    reason: FeedbackReason | None = Field(None, description="Why the agent rewrote the draft, if they did.")
    final_text: str | None = Field(None, max_length=20_000, description="The text the agent finally used.")
    note: str | None = Field(None, max_length=2000)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.prepare(MIGRATIONS)

    def _insert(self, table: str, row: dict) -> None:
        marks = ", ".join("?" for _ in row)
        self.db.run(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", list(row.values()))

    # ------------------------------------------------------------------ records

    def record_suggestion(self, suggestion, complaint: str, context, client: str | None = None) -> None:
        drafts = [
            {"kind": d.kind, "engine": d.engine, "text": mask_pii(d.text), "verdict": d.check.verdict,
             "violations": [v.rule_id for v in d.check.violations], "fixed_by": d.fixed_by,
             "citations": [c.doc_id for c in d.citations]}
            for d in suggestion.drafts
        ]
        analysis = json.loads(suggestion.analysis.model_dump_json())
        for group in ("needs", "escalation"):
            for finding in analysis.get(group, []):
                for ev in finding.get("evidence", []):
                    ev["text"] = mask_pii(ev["text"])
        analysis["facts"] = {k: v for k, v in analysis.get("facts", {}).items() if k != "order_ids"} | {
            "order_ids": ["[ORDER]" for _ in analysis.get("facts", {}).get("order_ids", [])]
        }
        self._insert("suggestions", {
            "id": suggestion.id, "created_at": _now(), "client": client, "complaint": mask_pii(complaint),
            "context": json.dumps({k: v for k, v in context.model_dump().items() if k != "facts"}, ensure_ascii=False),
            "analysis": json.dumps(analysis, ensure_ascii=False), "drafts": json.dumps(drafts, ensure_ascii=False),
            "engine": suggestion.engine, "policy": suggestion.policy,
            "timings": json.dumps(suggestion.timings_ms), "notices": json.dumps(suggestion.notices, ensure_ascii=False),
        })

    def record_check(self, text: str, result, *, final: bool = False, suggestion_id: str | None = None,
                     draft_kind: str | None = None, client: str | None = None) -> str:
        check_id = uuid.uuid4().hex
        summary = {"verdict": result.verdict, "violations": [{"rule_id": v.rule_id, "category": v.category} for v in result.violations],
                   "moves_missing": result.moves_missing}
        self._insert("checks", {
            "id": check_id, "created_at": _now(), "client": client, "suggestion_id": suggestion_id, "draft_kind": draft_kind,
            "text": mask_pii(text), "verdict": result.verdict, "result": json.dumps(summary), "final": int(final),
        })
        return check_id

    def record_feedback(self, feedback: Feedback, client: str | None = None, edited: bool = False) -> str:
        feedback_id = uuid.uuid4().hex
        self._insert("feedback", {
            "id": feedback_id, "created_at": _now(), "client": client, "suggestion_id": feedback.suggestion_id,
            "draft_kind": feedback.draft_kind, "useful": int(feedback.useful), "reason": feedback.reason,
            "final_text": mask_pii(feedback.final_text) if feedback.final_text else None, "edited": int(edited),
            "note": mask_pii(feedback.note) if feedback.note else None,
        })
        return feedback_id

    def suggestion_exists(self, suggestion_id: str) -> bool:
        return self.db.read("SELECT 1 FROM suggestions WHERE id = ?", (suggestion_id,)).one() is not None

    def draft_text(self, suggestion_id: str, kind: str) -> str | None:
        drafts = self.db.read("SELECT drafts FROM suggestions WHERE id = ?", (suggestion_id,)).scalar()
        if drafts is None:
            return None
        return next((d["text"] for d in json.loads(drafts) if d["kind"] == kind), None)

    # ------------------------------------------------------------------ reading

    def rows(self, table: AuditTable, since: str | None = None) -> list[dict]:
        query = f"SELECT * FROM {table}" + (" WHERE created_at >= ?" if since else "") + " ORDER BY created_at"
        return self.db.read(query, (since,) if since else ()).dicts()

    def export(self, since: str | None, fmt: Literal["jsonl", "csv"]) -> str:
        records = [{"type": t[:-1] if t != "feedback" else "feedback", **r} for t in _EXPORTED for r in self.rows(t, since)]
        records.sort(key=lambda r: r["created_at"])
        if fmt == "jsonl":
            return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        first = ["type", "id", "created_at"]
        columns = first + sorted({k for r in records for k in r} - set(first))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
        return out.getvalue()


def analytics(log: AuditLog) -> dict[str, list[dict]]:
    """Aggregates for the analytics page: per day, per rule, acceptance and edits, top categories."""
    db = log.db
    per_day = [{"day": d, "suggestions": n} for d, n in db.read(
        "SELECT substr(created_at, 1, 10) AS day, count(*) FROM suggestions GROUP BY day ORDER BY day").rows]
    drafts = [json.loads(row[0]) for row in db.read("SELECT drafts FROM suggestions").rows]
    checks = [json.loads(row[0]) for row in db.read("SELECT result FROM checks WHERE final = 1").rows]
    total_texts = sum(len(d) for d in drafts) + len(checks)
    rules: dict[str, int] = {}
    for group in drafts:
        for draft in group:
            for rule in draft.get("violations", []):
                rules[rule] = rules.get(rule, 0) + 1
    for check in checks:
        for v in check.get("violations", []):
            rules[v["rule_id"]] = rules.get(v["rule_id"], 0) + 1
    by_rule = [{"rule": r, "rate": round(n / max(total_texts, 1), 3)} for r, n in sorted(rules.items(), key=lambda kv: -kv[1])]
    feedback = db.read("SELECT count(*), sum(useful), sum(edited) FROM feedback").one() or (0, 0, 0)
    n, useful, edited = feedback[0] or 0, feedback[1] or 0, feedback[2] or 0
    rates = [{"measure": "accepted", "rate": round(useful / n, 3) if n else 0.0},
             {"measure": "edited", "rate": round(edited / n, 3) if n else 0.0}]
    categories = [{"category": c or "-", "suggestions": k} for c, k in db.read(
        "SELECT policy, count(*) FROM suggestions GROUP BY policy ORDER BY count(*) DESC, policy LIMIT 10").rows]
    return {"per_day": per_day, "by_rule": by_rule, "rates": rates, "categories": categories}
