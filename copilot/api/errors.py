"""Every error in one format, `{"error": {"code", "message", "request_id"}}`: the copilot's own errors (each
type knows its code; its kind gives the status), invalid bodies, and the framework's own 400, 404 and 405."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from copilot.api.models import ErrorBody
from copilot.errors import CopilotError, Kind

STATUS: dict[Kind, int] = {"invalid": 422, "not_found": 404, "conflict": 409, "unavailable": 503}
# what a program calling the API does next, where the copilot's own message cannot know the route
HINTS = {"unknown_conversation": "POST /v1/conversations starts one"}
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def error_response(request_id: str, status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    body = ErrorBody(code=code, message=message, request_id=request_id)
    return JSONResponse(status_code=status, content={"error": body.model_dump()}, headers=headers)


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "-")


def answer_for(exc: CopilotError, request_id: str) -> JSONResponse:
    """The answer to one of the copilot's own errors: its kind's status, its code, and a retry hint where
    trying again later can work."""
    message = f"{exc} ({HINTS[exc.code]})" if exc.code in HINTS else str(exc)
    headers = {"Retry-After": "1"} if exc.kind == "unavailable" or exc.code == "idempotency_key_busy" else None
    return error_response(request_id, STATUS[exc.kind], exc.code, message, headers)


async def copilot_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CopilotError)
    return answer_for(exc, _request_id(request))


async def invalid_body(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(_request_id(request), 400, "malformed_json",
                              "the body is not valid JSON: send one JSON object with Content-Type application/json")
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in errors)
    return error_response(_request_id(request), 422, "invalid_request", problems or "the request body is not valid")


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = {404: f"no route {request.url.path}: see /docs for the API",
               405: f"{request.method} is not allowed on {request.url.path}: see /docs for the API"}.get(
        exc.status_code, str(exc.detail))
    return error_response(_request_id(request), exc.status_code, _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}"),
                          message, dict(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CopilotError, copilot_error)
    app.add_exception_handler(RequestValidationError, invalid_body)
    app.add_exception_handler(HTTPException, http_error)
