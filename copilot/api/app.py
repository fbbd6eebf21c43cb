"""FastAPI app: `/v1/check`, `/v1/kb/search`, health and readiness. It drafts and checks; it never sends."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from copilot import __version__
from copilot.checking import CheckError, CheckResult
from copilot.drafting import SuggestContext, Suggestion
from copilot.retrieval import IndexMissing, Passage, QueryError, SearchFilters, StoreUnavailable
from copilot.service import ComplaintError, Copilot


class CheckRequest(BaseModel):
    text: str = Field(description="The draft or the agent's final text.", max_length=20_000)
    language: Literal["zh-Hant", "zh-Hans", "en"] | None = Field(None, description="Detected when omitted.")
    complaint: str | None = Field(None, description="The customer's message; quoting it is not flagged.", max_length=100_000)
    level: Literal["agent", "supervisor", "manager"] = "agent"
    policy: str | None = Field(None, description="Policy category as domain/category, e.g. ecommerce/late_delivery.")
    fix: bool = Field(False, description="Also return a deterministic rewrite that passes the check.")


class SuggestRequest(BaseModel):
    complaint: str = Field(description="The customer's message.", max_length=200_000)
    context: SuggestContext = Field(default_factory=SuggestContext)


class CheckResponse(CheckResult):
    fixed_text: str | None = Field(None, description="With fix=true: a rewrite that passes the check.")


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str


def _error(status: int, code: str, message: str, request: Request) -> JSONResponse:
    body = ErrorBody(code=code, message=message, request_id=request.state.request_id)
    return JSONResponse(status_code=status, content={"error": body.model_dump()})


def create_app(service: Copilot | None = None) -> FastAPI:
    copilot = service or Copilot()
    app = FastAPI(
        title="complaint-copilot API",
        version=__version__,
        description="Drafts and checks replies to customer complaints for a CRM. It never sends anything to a customer.",
    )
    app.state.copilot = copilot

    @app.middleware("http")
    async def request_id(request: Request, call_next):
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        response = await call_next(request)
        response.headers["x-request-id"] = request.state.request_id
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors())
        return _error(422, "invalid_request", problems or "the request body is not valid", request)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["ops"])
    def readyz(request: Request) -> JSONResponse:
        try:
            passages = copilot.index.count()
        except (IndexMissing, StoreUnavailable) as exc:
            return JSONResponse(status_code=503, content={"ready": False, "index": str(exc)})
        engine = "llm" if copilot.settings.llm_base_url else "composer"
        return JSONResponse({"ready": True, "index_passages": passages, "engine": engine, "metrics": copilot.metrics})

    @app.post("/v1/check", response_model=CheckResponse, tags=["v1"])
    def check(body: CheckRequest, request: Request):
        try:
            result = copilot.check(body.text, body.language, complaint=body.complaint, level=body.level, policy=body.policy)
            fixed = copilot.fix(body.text, body.language, complaint=body.complaint, level=body.level, policy=body.policy) if body.fix else None
        except CheckError as exc:
            return _error(422, "invalid_text", str(exc), request)
        data = result.model_dump(exclude={"moves_missing", "moves_present"})
        return CheckResponse(**data, fixed_text=fixed.text if fixed else None)

    @app.post("/v1/suggest", response_model=Suggestion, tags=["v1"])
    def suggest(body: SuggestRequest, request: Request):
        """Analysis, retrieved passages and three checked drafts. Nothing is sent to the customer."""
        try:
            return copilot.suggest(body.complaint, body.context)
        except ComplaintError as exc:
            return _error(422, "invalid_complaint", str(exc), request)

    @app.get("/v1/kb/search", response_model=list[Passage], tags=["v1"])
    def kb_search(
        request: Request,
        q: str = Query(..., description="What to look for: a question or the complaint itself."),
        k: int = Query(5, ge=1, le=50),
        kind: list[str] | None = Query(None),
        domain: list[str] | None = Query(None),
        language: list[str] | None = Query(None),
    ):
        try:
            return copilot.search_knowledge(q, k=k, filters=SearchFilters(kind=kind, domain=domain, language=language))
        except QueryError as exc:
            return _error(422, "invalid_query", str(exc), request)
        except (IndexMissing, StoreUnavailable) as exc:
            return _error(503, "index_unavailable", str(exc), request)

    return app
