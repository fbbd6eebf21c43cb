"""Live conversations: turns, the customer's trend, the commitments ledger, and the escalation brief."""

from copilot.conversation.models import (
    Alert,
    Brief,
    Conversation,
    ConversationStart,
    MessageIn,
    Trend,
    Turn,
)

__all__ = ["Alert", "Brief", "Conversation", "ConversationStart", "MessageIn", "Trend", "Turn"]
