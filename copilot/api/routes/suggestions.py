"""Drafting and checking: `/v1/check`, `/v1/suggest` (and its stream), `/v1/rewrite`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from copilot.api.deps import Client, Service
from copilot.api.idempotency import idempotent
from copilot.api.models import CheckRequest, CheckResponse, SuggestRequest
from copilot.api.streams import server_sent_events
from copilot.checking import CheckContext
from copilot.drafting import Suggestion
from copilot.drafting.rewrite import RewriteRequest, RewriteResult

router = APIRouter(tags=["v1"])


@router.post("/v1/check", response_model=CheckResponse)
def check(body: CheckRequest, copilot: Service, client: Client):
    context = CheckContext(complaint=body.complaint, level=body.level, policy=body.policy)
    if body.final:
        result = copilot.check_final(body.text, body.language, context, suggestion_id=body.suggestion_id, client=client)
    else:
        result = copilot.check(body.text, body.language, context)
    fixed = copilot.fix(body.text, body.language, context) if body.fix else None
    data = result.model_dump(exclude={"moves_missing", "moves_present"})
    return CheckResponse(**data, fixed_text=fixed.text if fixed else None)


@router.post("/v1/suggest", response_model=Suggestion)
def suggest(body: SuggestRequest, request: Request, copilot: Service, client: Client):
    """Analysis, retrieved passages and three checked drafts. Nothing is sent to the customer.

    Send an `Idempotency-Key` header to make a retry return the first answer instead of a new one."""
    return idempotent(request, copilot, body, lambda: copilot.suggest(body.complaint, body.context, client=client))


@router.post("/v1/suggest/stream", response_class=StreamingResponse)
def suggest_stream(body: SuggestRequest, copilot: Service, client: Client):
    """`/v1/suggest` as server-sent events: `delta` (new text of a draft), `check` (findings on the sentences
    finished so far), `draft` (each finished, checked draft), `notice`, and `done` (the whole suggestion)."""
    return server_sent_events(copilot.stream_suggest(body.complaint, body.context, client=client))


@router.post("/v1/rewrite", response_model=RewriteResult)
def rewrite(body: RewriteRequest, copilot: Service):
    """Shorter, warmer, more formal, simpler words, the other script or another language; re-checked."""
    return copilot.rewrite(body)
