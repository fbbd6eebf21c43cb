"""Live conversations: start, add turns, read, forget, draft the next turn, check a turn, the brief."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from copilot.api.deps import Client, Service
from copilot.api.idempotency import idempotent, request_key
from copilot.api.models import BriefRequest, MessageResponse, TurnCheckRequest
from copilot.api.streams import server_sent_events
from copilot.checking import CheckResult
from copilot.conversation import Brief, Conversation, ConversationStart, MessageIn
from copilot.drafting import Suggestion

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])


@router.post("", response_model=Conversation, status_code=201)
def start_conversation(body: ConversationStart, request: Request, copilot: Service, client: Client):
    """Start following a conversation. Give your own `id` to address it by the CRM's id. With an
    `Idempotency-Key`, a retry returns the first answer instead of a 409."""
    return idempotent(request, copilot, body, lambda: copilot.start_conversation(body, client=client), status=201)


@router.get("/{conversation_id}", response_model=Conversation)
def get_conversation(conversation_id: str, copilot: Service):
    """The turns, each customer turn's reading, the trend with alerts, and the commitments ledger."""
    return copilot.conversation(conversation_id)


@router.delete("/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, copilot: Service) -> Response:
    """Forget the conversation and its turns (the audit log keeps only masked text)."""
    copilot.delete_conversation(conversation_id)
    return Response(status_code=204)


@router.post("/{conversation_id}/messages", response_model=MessageResponse)
def add_message(conversation_id: str, body: MessageIn, request: Request, copilot: Service, client: Client,
                suggest: bool = Query(False, description="After a customer turn, also draft the next agent turn.")):
    """Add a customer or agent turn (with its time). An agent turn's promises go into the ledger. With an
    `Idempotency-Key`, a retry (to any replica) stores the turn once and returns the first answer."""

    def work() -> MessageResponse:
        conversation = copilot.add_message(conversation_id, body, client=client, request_key=request_key(request))
        drafts = copilot.suggest_next(conversation_id, client=client) if suggest and body.role == "customer" else None
        return MessageResponse(conversation=conversation, suggestion=drafts)

    return idempotent(request, copilot, body, work)


@router.post("/{conversation_id}/suggest", response_model=Suggestion)
def suggest_next(conversation_id: str, copilot: Service, client: Client,
                 stream: bool = Query(False, description="Answer as server-sent events (see /v1/suggest/stream).")):
    """Three checked drafts for the agent's next turn, consistent with what was already promised."""
    if stream:
        return server_sent_events(copilot.stream_next(conversation_id, client=client))
    return copilot.suggest_next(conversation_id, client=client)


@router.post("/{conversation_id}/check", response_model=CheckResult)
def check_turn(conversation_id: str, body: TurnCheckRequest, copilot: Service):
    """Check a text against the rules, the policy and this conversation's ledger."""
    return copilot.check_turn(conversation_id, body.text, body.language)


@router.post("/{conversation_id}/brief", response_model=Brief)
def brief(conversation_id: str, body: BriefRequest, copilot: Service):
    """The escalation brief for the supervisor taking over, in their language."""
    return copilot.escalation_brief(conversation_id, body.language)
