"""`Idempotency-Key` for the routes that create something: the first request with a key runs, a retry with
the same key (on any replica) waits for its answer and gets it back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from copilot.api.errors import error_response
from copilot.service import Copilot

MAX_KEY = 200


def request_key(request: Request) -> str | None:
    """The key as the client sent it, scoped to the client (None without one)."""
    key = request.headers.get("idempotency-key")
    return f"{request.state.client or 'anonymous'}:{key}" if key else None


def idempotent(request: Request, service: Copilot, body: BaseModel | None, work: Callable[[], BaseModel], status: int = 200):
    """Run `work` once per Idempotency-Key and remember its answer; a replay says `Idempotent-Replayed: true`."""
    key = request.headers.get("idempotency-key")
    if not key:
        return work()
    if len(key) > MAX_KEY:
        return error_response(request.state.request_id, 422, "invalid_idempotency_key",
                              f"the Idempotency-Key header is longer than {MAX_KEY} characters")
    client = request.state.client or "anonymous"
    fingerprint = hashlib.sha256(
        f"{request.method} {request.url.path}?{request.url.query}\n{body.model_dump_json() if body else ''}".encode()
    ).hexdigest()
    keys = service.stores.idempotency
    replay = keys.claim(client, key, fingerprint)
    if replay is not None:
        return JSONResponse(json.loads(replay.response), status_code=replay.status, headers={"Idempotent-Replayed": "true"})
    try:
        result = work()
    except BaseException:
        keys.release(client, key)  # the request failed: a retry runs again
        raise
    keys.complete(client, key, result.model_dump_json(), status, suggestion_id=str(getattr(result, "id", "") or ""))
    return result
