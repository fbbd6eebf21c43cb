"""The audit log: every suggestion, every final check and all feedback (SQLite by default, or the shared PostgreSQL)."""

from copilot.audit.store import AuditLog, Feedback, FeedbackReason

__all__ = ["AuditLog", "Feedback", "FeedbackReason"]
