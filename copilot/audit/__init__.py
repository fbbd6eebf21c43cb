"""The audit log: every suggestion, every final check and all feedback, in SQLite (WAL)."""

from copilot.audit.store import AuditLog, Feedback, FeedbackReason

__all__ = ["AuditLog", "Feedback", "FeedbackReason"]
