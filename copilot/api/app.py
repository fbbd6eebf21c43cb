"""FastAPI app: `/v1/check`, `/v1/kb/search`, health and readiness. It drafts and checks; it never sends."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from copilot import __version__
from copilot.audit import Feedback
from copilot.audit.idempotency import KeyBusy, KeyReused
from copilot.checking import CheckError, CheckResult
from copilot.conversation import Brief, Conversation, ConversationStart, MessageIn
from copilot.conversation.store import ConversationExists
from copilot.drafting import SuggestContext, Suggestion
from copilot.drafting.rewrite import RewriteRequest, RewriteResult, RewriteUnavailable
from copilot.retrieval import IndexMissing, Passage, QueryError, SearchAnswer, SearchFilters, StoreUnavailable
from copilot.service import ComplaintError, Copilot, UnknownConversation, UnknownSuggestion
from copilot.storage import DatabaseUnavailable


class CheckRequest(BaseModel):
    text: str = Field(description="The draft or the agent's final text.", max_length=20_000)
    language: Literal["zh-Hant", "zh-Hans", "en"] | None = Field(None, description="Detected when omitted.")
    complaint: str | None = Field(None, description="The customer's message; quoting it is not flagged.", max_length=100_000)
    level: Literal["agent", "supervisor", "manager"] = "agent"
    policy: str | None = Field(None, description="Policy category as domain/category, e.g. ecommerce/late_delivery.")
    fix: bool = Field(False, description="Also return a deterministic rewrite that passes the check.")
    final: bool = Field(False, description="This is the text the agent is sending: log it with its check.")
    suggestion_id: str | None = Field(None, description="With final=true: the suggestion the text came from.")


class SuggestRequest(BaseModel):
    complaint: str = Field(description="The customer's message.", max_length=200_000)
    context: SuggestContext = Field(default_factory=SuggestContext)


class TurnCheckRequest(BaseModel):
    text: str = Field(description="What the agent is about to send in this conversation.", max_length=20_000)
    language: Literal["zh-Hant", "zh-Hans", "en"] | None = None


class BriefRequest(BaseModel):
    language: Literal["zh-Hant", "zh-Hans", "en"] | None = Field(None, description="The supervisor's language; default the conversation's.")


class MessageResponse(BaseModel):
    conversation: Conversation
    suggestion: Suggestion | None = Field(None, description="With ?suggest=true after a customer turn: drafts for the next agent turn.")


def _sse(events) -> StreamingResponse:
    """Server-sent events, one JSON object per event (`event:` names its type)."""

    def body():
        for event in events:
            yield f"event: {event.type}\ndata: {event.model_dump_json(exclude_none=True)}\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


class CheckResponse(CheckResult):
    fixed_text: str | None = Field(None, description="With fix=true: a rewrite that passes the check.")


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str


def _error(status: int, code: str, message: str, request: Request, headers: dict | None = None) -> JSONResponse:
    body = ErrorBody(code=code, message=message, request_id=getattr(request.state, "request_id", "-"))
    return JSONResponse(status_code=status, content={"error": body.model_dump()}, headers=headers)


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    return _error(503, "database_unavailable", str(exc), request, headers={"Retry-After": "1"})


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_app(service: Copilot | None = None) -> FastAPI:
    copilot = service or Copilot()
    app = FastAPI(
        title="complaint-copilot API",
        version=__version__,
        description="Drafts and checks replies to customer complaints for a CRM. It never sends anything to a customer.",
    )
    app.state.copilot = copilot
    app.state.audit = copilot.audit  # open the audit log (and run its migrations) at start

    settings = copilot.settings
    accepted = [h.lower() for h in settings.api_key_hashes]
    limiter = copilot.stores.rate_limiter

    @app.middleware("http")
    async def guard(request: Request, call_next):
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.client = None
        if request.url.path.startswith("/v1/"):
            if accepted:
                given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                digest = hash_key(given) if given else ""
                # compare against every accepted hash in constant time, so timing tells nothing
                matches = [hmac.compare_digest(digest, h) for h in accepted]
                if not any(matches):
                    code = "missing_api_key" if not given else "unknown_api_key"
                    return _error(401, code, "send a valid API key in the X-API-Key header (or Authorization: Bearer)", request)
                request.state.client = "key:" + digest[:12]
            client = request.state.client or f"ip:{request.client.host if request.client else '-'}"
            try:
                wait = limiter.take(client)
            except DatabaseUnavailable as exc:  # raised in middleware, which the exception handlers do not see
                return _unavailable(request, exc)
            if wait > 0:
                return _error(429, "rate_limited", f"too many requests: retry in {wait:.1f} s", request,
                              headers={"Retry-After": str(max(1, round(wait)))})
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > settings.max_request_bytes:
                return _error(413, "request_too_large", f"the body is {int(length):,} bytes; the limit is {settings.max_request_bytes:,}", request)
        response = await call_next(request)
        response.headers["x-request-id"] = request.state.request_id
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "malformed_json", "the body is not valid JSON: send one JSON object with Content-Type application/json", request)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in errors)
        return _error(422, "invalid_request", problems or "the request body is not valid", request)

    @app.exception_handler(DatabaseUnavailable)
    async def database_unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return _unavailable(request, exc)

    def idempotent(request: Request, body: BaseModel | None, work: Callable[[], BaseModel | Response], status: int = 200):
        """Run `work` once per Idempotency-Key: a retry with the same key, on this replica or another, gets the
        first answer back (`Idempotent-Replayed: true`) or waits for it while it is being made."""
        key = request.headers.get("idempotency-key")
        if not key:
            return work()
        if len(key) > 200:
            return _error(422, "invalid_idempotency_key", "the Idempotency-Key header is longer than 200 characters", request)
        client = request.state.client or "anonymous"
        fingerprint = hashlib.sha256(
            f"{request.method} {request.url.path}?{request.url.query}\n{body.model_dump_json() if body else ''}".encode()
        ).hexdigest()
        keys = copilot.stores.idempotency
        try:
            replay = keys.claim(client, key, fingerprint)
        except KeyReused as exc:
            return _error(422, "idempotency_key_reused", str(exc), request)
        except KeyBusy as exc:
            return _error(409, "idempotency_key_busy", str(exc), request, headers={"Retry-After": "1"})
        if replay is not None:
            return JSONResponse(json.loads(replay.response), status_code=replay.status, headers={"Idempotent-Replayed": "true"})
        try:
            result = work()
        except BaseException:
            keys.release(client, key)
            raise
        if isinstance(result, Response):  # an error answer: a retry may run again
            keys.release(client, key)
            return result
        keys.complete(client, key, result.model_dump_json(), status, suggestion_id=str(getattr(result, "id", "") or ""))
        return result

    @app.exception_handler(UnknownConversation)
    async def unknown_conversation(request: Request, exc: UnknownConversation) -> JSONResponse:
        return _error(404, "unknown_conversation", str(exc), request)

    @app.exception_handler(ConversationExists)
    async def conversation_exists(request: Request, exc: ConversationExists) -> JSONResponse:
        return _error(409, "conversation_exists", str(exc), request)

    @app.exception_handler(RewriteUnavailable)
    async def rewrite_unavailable(request: Request, exc: RewriteUnavailable) -> JSONResponse:
        return _error(422, "rewrite_unavailable", str(exc), request)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["ops"])
    def readyz(request: Request) -> JSONResponse:
        try:
            passages = copilot.index.count()
        except (IndexMissing, StoreUnavailable) as exc:
            return JSONResponse(status_code=503, content={"ready": False, "index": str(exc)})
        try:
            database = copilot.stores.ping()
        except DatabaseUnavailable as exc:  # a load balancer stops sending requests here until it is back
            return JSONResponse(status_code=503, content={"ready": False, "database": str(exc)})
        body: dict = {"ready": True, "index_passages": passages, "database": database, "engine": "composer",
                      "metrics": copilot.metrics}
        if copilot.llm is not None:
            # the LLM is optional: unreachable means drafts come from the composer, not "not ready"
            try:
                copilot.llm.client.with_options(timeout=3, max_retries=0).models.list()
                body["engine"], body["llm"] = "llm", "reachable"
            except Exception as exc:  # any failure to reach it is reported, none is fatal
                body["llm"] = f"unreachable ({exc.__class__.__name__}): drafts will come from the composer"
        return JSONResponse(body)

    @app.post("/v1/check", response_model=CheckResponse, tags=["v1"])
    def check(body: CheckRequest, request: Request):
        try:
            args = {"complaint": body.complaint, "level": body.level, "policy": body.policy}
            if body.final:
                result = copilot.check_final(body.text, body.language, **args, suggestion_id=body.suggestion_id, client=request.state.client)
            else:
                result = copilot.check(body.text, body.language, **args)
            fixed = copilot.fix(body.text, body.language, **args) if body.fix else None
        except CheckError as exc:
            return _error(422, "invalid_text", str(exc), request)
        data = result.model_dump(exclude={"moves_missing", "moves_present"})
        return CheckResponse(**data, fixed_text=fixed.text if fixed else None)

    @app.post("/v1/suggest", response_model=Suggestion, tags=["v1"])
    def suggest(body: SuggestRequest, request: Request):
        """Analysis, retrieved passages and three checked drafts. Nothing is sent to the customer.

        Send an `Idempotency-Key` header to make a retry return the first answer instead of a new one."""
        def work():
            try:
                return copilot.suggest(body.complaint, body.context, client=request.state.client)
            except ComplaintError as exc:
                return _error(422, "invalid_complaint", str(exc), request)

        return idempotent(request, body, work)

    @app.post("/v1/feedback", tags=["v1"])
    def feedback(body: Feedback, request: Request):
        """The agent's verdict on a draft, and optionally the text they finally sent (checked and logged)."""
        try:
            return copilot.feedback(body, client=request.state.client)
        except UnknownSuggestion as exc:
            return _error(404, "unknown_suggestion", str(exc), request)

    @app.post("/v1/suggest/stream", tags=["v1"], response_class=StreamingResponse)
    def suggest_stream(body: SuggestRequest, request: Request):
        """`/v1/suggest` as server-sent events: `delta` (new text of a draft), `check` (findings on the sentences
        finished so far), `draft` (each finished, checked draft), `notice`, and `done` (the whole suggestion)."""
        try:
            events = copilot.stream_suggest(body.complaint, body.context, client=request.state.client)
        except ComplaintError as exc:
            return _error(422, "invalid_complaint", str(exc), request)
        return _sse(events)

    # ------------------------------------------------------------------ conversations

    @app.post("/v1/conversations", response_model=Conversation, status_code=201, tags=["conversations"])
    def start_conversation(body: ConversationStart, request: Request):
        """Start following a conversation. Give your own `id` to address it by the CRM's id. With an
        `Idempotency-Key`, a retry returns the first answer instead of a 409."""
        def work():
            try:
                return copilot.start_conversation(body, client=request.state.client)
            except ComplaintError as exc:
                return _error(422, "invalid_conversation", str(exc), request)

        return idempotent(request, body, work, status=201)

    @app.get("/v1/conversations/{conversation_id}", response_model=Conversation, tags=["conversations"])
    def get_conversation(conversation_id: str, request: Request):
        """The turns, each customer turn's reading, the trend with alerts, and the commitments ledger."""
        return copilot.conversation(conversation_id)

    @app.delete("/v1/conversations/{conversation_id}", status_code=204, tags=["conversations"])
    def delete_conversation(conversation_id: str) -> Response:
        """Forget the conversation and its turns (the audit log keeps only masked text)."""
        copilot.delete_conversation(conversation_id)
        return Response(status_code=204)

    @app.post("/v1/conversations/{conversation_id}/messages", response_model=MessageResponse, tags=["conversations"])
    def add_message(conversation_id: str, body: MessageIn, request: Request,
                    suggest: bool = Query(False, description="After a customer turn, also draft the next agent turn.")):
        """Add a customer or agent turn (with its time). An agent turn's promises go into the ledger. With an
        `Idempotency-Key`, a retry (to any replica) stores the turn once and returns the first answer."""
        key = request.headers.get("idempotency-key")
        request_key = f"{request.state.client or 'anonymous'}:{key}" if key else None

        def work():
            try:
                conversation = copilot.add_message(conversation_id, body, client=request.state.client, request_key=request_key)
                suggestion = None
                if suggest and body.role == "customer":
                    suggestion = copilot.suggest_next(conversation_id, client=request.state.client)
            except ComplaintError as exc:
                return _error(422, "invalid_message", str(exc), request)
            return MessageResponse(conversation=conversation, suggestion=suggestion)

        return idempotent(request, body, work)

    @app.post("/v1/conversations/{conversation_id}/suggest", response_model=Suggestion, tags=["conversations"])
    def suggest_next(conversation_id: str, request: Request,
                     stream: bool = Query(False, description="Answer as server-sent events (see /v1/suggest/stream).")):
        """Three checked drafts for the agent's next turn, consistent with what was already promised."""
        try:
            if stream:
                return _sse(copilot.stream_next(conversation_id, client=request.state.client))
            return copilot.suggest_next(conversation_id, client=request.state.client)
        except ComplaintError as exc:
            return _error(422, "no_customer_turn", str(exc), request)

    @app.post("/v1/conversations/{conversation_id}/check", response_model=CheckResult, tags=["conversations"])
    def check_turn(conversation_id: str, body: TurnCheckRequest, request: Request):
        """Check a text against the rules, the policy and this conversation's ledger."""
        try:
            return copilot.check_turn(conversation_id, body.text, body.language)
        except CheckError as exc:
            return _error(422, "invalid_text", str(exc), request)

    @app.post("/v1/conversations/{conversation_id}/brief", response_model=Brief, tags=["conversations"])
    def brief(conversation_id: str, body: BriefRequest, request: Request):
        """The escalation brief for the supervisor taking over, in their language."""
        try:
            return copilot.escalation_brief(conversation_id, body.language)
        except ComplaintError as exc:
            return _error(422, "no_customer_turn", str(exc), request)

    @app.post("/v1/rewrite", response_model=RewriteResult, tags=["v1"])
    def rewrite(body: RewriteRequest, request: Request):
        """Shorter, warmer, more formal, simpler words, the other script or another language; re-checked."""
        try:
            return copilot.rewrite(body)
        except CheckError as exc:
            return _error(422, "invalid_text", str(exc), request)

    def search_query(
        q: str = Query(..., description="What to look for: a question or the complaint itself."),
        k: int = Query(5, ge=1, le=50),
        kind: list[str] | None = Query(None),
        domain: list[str] | None = Query(None),
        language: list[str] | None = Query(None),
    ) -> tuple[str, int, SearchFilters]:
        return q, k, SearchFilters(kind=kind, domain=domain, language=language)

    def _search(request: Request, response: Response, query: tuple[str, int, SearchFilters]):
        q, k, filters = query
        try:
            answer = copilot.explain_search(q, k=k, filters=filters)
        except QueryError as exc:
            return _error(422, "invalid_query", str(exc), request)
        except (IndexMissing, StoreUnavailable) as exc:
            return _error(503, "index_unavailable", str(exc), request)
        if answer.notices:
            # the list answer has no room for them; a header keeps its shape for existing clients
            response.headers["X-Copilot-Notice"] = " | ".join(answer.notices).encode("ascii", "ignore").decode()
        return answer

    @app.get("/v1/kb/search", response_model=list[Passage], tags=["v1"])
    def kb_search(request: Request, response: Response, query=Depends(search_query)):
        """The passages, best first. A notice (e.g. a question in a language the knowledge is not in) comes in
        the `X-Copilot-Notice` header; `/v1/kb/explain` returns it in the body with the rest of the explanation."""
        answer = _search(request, response, query)
        return answer.passages if isinstance(answer, SearchAnswer) else answer

    @app.get("/v1/kb/explain", response_model=SearchAnswer, tags=["v1"])
    def kb_explain(request: Request, response: Response, query=Depends(search_query)):
        """The same search, explained: what the question was expanded with (lexicon concepts and terms), which
        channel found each passage at which rank, and notices."""
        return _search(request, response, query)

    return app
