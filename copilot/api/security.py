"""The API's guard, as ASGI middleware: a request id on every answer, and on `/v1/` routes the API key, the
rate limit per key (or address) and the body size. An oversized body is read to its end before the 413 is
sent, so the client gets the answer instead of a reset connection."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from copilot.api.errors import answer_for, error_response
from copilot.errors import Unavailable
from copilot.storage.ratelimit import RateLimiter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Guard:
    def __init__(self, app: ASGIApp, key_hashes: list[str], limiter: RateLimiter, max_body: int) -> None:
        self.app = app
        self.accepted = [h.lower() for h in key_hashes]
        self.limiter = limiter
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {}).update(request_id=request_id, client=None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        if scope["path"].startswith("/v1/"):
            refused = await self._refusal(scope, headers, request_id)
            if refused is None:
                receive, refused = await self._body(receive, headers, request_id)
            if refused is not None:
                await refused(scope, receive, send_with_id)
                return
        await self.app(scope, receive, send_with_id)

    async def _refusal(self, scope: Scope, headers: dict[str, str], request_id: str):
        """The answer to a request without a valid key or over its rate, or None to let it through."""
        if self.accepted:
            given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
            digest = hash_key(given) if given else ""
            # compare against every accepted hash in constant time, so timing tells nothing
            if not any([hmac.compare_digest(digest, h) for h in self.accepted]):
                code = "missing_api_key" if not given else "unknown_api_key"
                return error_response(request_id, 401, code, "send a valid API key in the X-API-Key header (or Authorization: Bearer)")
            scope["state"]["client"] = "key:" + digest[:12]
        client = scope["state"]["client"] or f"ip:{scope['client'][0] if scope.get('client') else '-'}"
        try:
            wait = await anyio.to_thread.run_sync(self.limiter.take, client)  # the shared limiter asks the database
        except Unavailable as exc:  # raised here, in middleware, which the exception handlers do not see
            return answer_for(exc, request_id)
        if wait > 0:
            return error_response(request_id, 429, "rate_limited", f"too many requests: retry in {wait:.1f} s",
                                  {"Retry-After": str(max(1, round(wait)))})
        return None

    async def _body(self, receive: Receive, headers: dict[str, str], request_id: str):
        """The body read up to the limit and handed on (a new `receive`), or the 413 once all of it was read."""
        length = headers.get("content-length", "")
        declared = int(length) if length.isdigit() else None
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive, None
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
            if size <= self.max_body and (declared is None or declared <= self.max_body):
                chunks.append(message.get("body", b""))
        if size > self.max_body or (declared is not None and declared > self.max_body):
            shown = max(size, declared or 0)
            return receive, error_response(request_id, 413, "request_too_large",
                                           f"the body is {shown:,} bytes; the limit is {self.max_body:,}")
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, None
