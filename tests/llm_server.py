"""A scriptable OpenAI-compatible HTTP server for tests (standard library only).

The real `openai` SDK is pointed at it through `base_url`, so everything below speaks the real wire format:
chat completions (JSON and server-sent events), OpenAI-style error bodies, `/v1/models` and `/v1/embeddings`.

    with ScriptedLLMServer() as server:
        server.script(reply("hello"), status(429, retry_after=0), hang(5), malformed())
        client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=0.5)
        ...
        assert server.chat_requests[0].body["messages"][0]["content"] == "..."

Each POST /v1/chat/completions consumes one scripted step (first in, first out); once the queue is empty the
`default` step answers. A step may also be a callable taking the `RecordedRequest` and returning a step.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import math
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "scripted-model"
EMBEDDING_DIM = 8

__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDING_DIM",
    "Hang",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "ScriptedLLMServer",
    "Status",
    "Step",
    "StreamThenFail",
    "fake_embedding",
    "hang",
    "malformed",
    "reply",
    "reply_json",
    "status",
    "stream_then_fail",
]


# --------------------------------------------------------------------------------------------------- steps


class Step:
    """Base class of the scripted behaviours."""


@dataclass(frozen=True)
class Reply(Step):
    """A normal completion; streamed as several SSE chunks when the request asks for `"stream": true`."""

    content: str
    finish_reason: str = "stop"
    pieces: int = 4  # how many content chunks a streamed answer is split into (at most)
    delay: float = 0.0  # seconds between streamed chunks (a slow model)


@dataclass(frozen=True)
class Status(Step):
    """An OpenAI-style error body `{"error": {...}}` with the given HTTP status."""

    code: int
    message: str = "scripted error"
    retry_after: float | None = None
    error_type: str | None = None  # defaults by status, e.g. "rate_limit_error" for 429
    error_code: str | None = None  # defaults by status, e.g. "rate_limit_exceeded" for 429


@dataclass(frozen=True)
class Hang(Step):
    """Wait `seconds` (released early on client disconnect or server shutdown), then answer `then`."""

    seconds: float
    then: Step = field(default_factory=lambda: Reply("late reply"))


@dataclass(frozen=True)
class Malformed(Step):
    """HTTP 200 whose body is not JSON (in stream mode: one SSE event whose data is not JSON)."""

    body: str = "this is not json {"
    content_type: str = "application/json"


@dataclass(frozen=True)
class StreamThenFail(Step):
    """Start a response, send part of it, then close the connection without finishing the body."""

    content_prefix: str = "partial answer"
    pieces: int = 2


def reply(content: str, *, finish_reason: str = "stop", pieces: int = 4, delay: float = 0.0) -> Reply:
    return Reply(content, finish_reason=finish_reason, pieces=pieces, delay=delay)


def reply_json(obj: Any, **kwargs: Any) -> Reply:
    return Reply(json.dumps(obj, ensure_ascii=False), **kwargs)


def status(
    code: int,
    message: str = "scripted error",
    retry_after: float | None = None,
    *,
    error_type: str | None = None,
    error_code: str | None = None,
) -> Status:
    return Status(code, message, retry_after, error_type=error_type, error_code=error_code)


def hang(seconds: float, then: Step | None = None) -> Hang:
    return Hang(seconds, then if then is not None else Reply("late reply"))


def malformed(body: str = "this is not json {", content_type: str = "application/json") -> Malformed:
    return Malformed(body, content_type)


def stream_then_fail(content_prefix: str = "partial answer", pieces: int = 2) -> StreamThenFail:
    return StreamThenFail(content_prefix, pieces)


StepLike = Step | Callable[["RecordedRequest"], Step]

_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    409: ("conflict_error", None),
    422: ("invalid_request_error", None),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}


# ------------------------------------------------------------------------------------------------ requests


@dataclass
class RecordedRequest:
    """One request as the server received it. `body` is the parsed JSON (None when absent or not JSON)."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    raw: bytes

    @property
    def text(self) -> str:
        """The body as text, non-ASCII unescaped: convenient for `"555-0100" not in req.text` checks."""
        if self.body is not None:
            return json.dumps(self.body, ensure_ascii=False)
        return self.raw.decode("utf-8", errors="replace")

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default) if isinstance(self.body, dict) else default


# -------------------------------------------------------------------------------------------------- helpers


def fake_embedding(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """A deterministic unit vector derived from sha256(text)."""
    raw = b""
    for counter in itertools.count():
        if len(raw) >= 4 * dim:
            break
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
    ints = struct.unpack(f"<{dim}I", raw[: 4 * dim])
    vec = [i / 0xFFFFFFFF * 2.0 - 1.0 for i in ints]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    # round-trip through float32 so float and base64 encodings agree exactly
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in vec]


def _split(content: str, pieces: int) -> list[str]:
    if not content:
        return []
    pieces = max(1, min(pieces, len(content)))
    size = math.ceil(len(content) / pieces)
    return [content[i : i + size] for i in range(0, len(content), size)]


def _count_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _prompt_text(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------- server


class _Released(Exception):
    """The client went away or the server is stopping: drop the connection without answering."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    scripted: ScriptedLLMServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server: _HTTPServer
    server_version = "ScriptedLLM/1.0"

    # ---- connection bookkeeping

    def handle(self) -> None:
        owner = self.server.scripted
        if not owner._register(self.connection):
            return
        try:
            super().handle()
        except (ConnectionError, OSError):
            pass
        finally:
            owner._unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        pass

    # ---- routing

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0].rstrip("/")
        request = RecordedRequest(
            method=method,
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
        )
        owner = self.server.scripted
        owner._record(request)
        try:
            if method == "POST" and path == "/v1/chat/completions":
                if not isinstance(body, dict):
                    self._send_error(Status(400, "request body must be a JSON object"))
                    return
                self._run(owner._next_step(request), request)
            elif method == "POST" and path == "/v1/embeddings":
                self._embeddings(request)
            elif method == "GET" and path == "/v1/models":
                self._send_json(200, {"object": "list", "data": [self._model(m) for m in owner.models]})
            elif method == "GET" and path.startswith("/v1/models/"):
                name = path.removeprefix("/v1/models/")
                if name in owner.models:
                    self._send_json(200, self._model(name))
                else:
                    self._send_error(Status(404, f"The model `{name}` does not exist"))
            else:
                self._send_error(Status(404, f"Unknown endpoint {method} {path}", error_code="unknown_url"))
        except _Released:
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    # ---- steps

    def _run(self, step: Step, request: RecordedRequest) -> None:
        stream = bool(request.body.get("stream"))
        if isinstance(step, Reply):
            if stream:
                self._stream_reply(step, request)
            else:
                self._send_json(200, self._completion(step, request))
        elif isinstance(step, Status):
            self._send_error(step)
        elif isinstance(step, Hang):
            self._wait(step.seconds)
            self._run(step.then, request)
        elif isinstance(step, Malformed):
            if stream:
                self._start_sse()
                self._chunk(f"data: {step.body}\n\n".encode())
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")
            else:
                self._send_bytes(200, step.body.encode(), step.content_type)
        elif isinstance(step, StreamThenFail):
            self._stream_then_fail(step, request)
        else:
            raise TypeError(f"not a scripted step: {step!r}")

    def _wait(self, seconds: float) -> None:
        """Sleep, but give up as soon as the client disconnects or the server stops."""
        owner = self.server.scripted
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if owner._stopping.is_set():
                raise _Released
            try:
                readable, _, _ = select.select([self.connection], [], [], min(0.05, remaining))
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    raise _Released  # orderly close by the client (e.g. its timeout fired)
            except (OSError, ValueError) as exc:
                raise _Released from exc
        if owner._stopping.is_set():
            raise _Released

    def _completion(self, step: Reply, request: RecordedRequest) -> dict[str, Any]:
        prompt_tokens = _count_tokens(_prompt_text(request.body))
        completion_tokens = _count_tokens(step.content)
        return {
            "id": self.server.scripted._new_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.body.get("model") or DEFAULT_MODEL,
            "system_fingerprint": "fp_scripted",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": step.content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": step.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _chunk_obj(self, cid: str, request: RecordedRequest, delta: dict, finish: str | None) -> dict:
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.body.get("model") or DEFAULT_MODEL,
            "system_fingerprint": "fp_scripted",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    def _event(self, obj: Any) -> None:
        self._chunk(b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n")

    def _stream_reply(self, step: Reply, request: RecordedRequest) -> None:
        cid = self.server.scripted._new_id()
        self._start_sse()
        self._event(self._chunk_obj(cid, request, {"role": "assistant", "content": ""}, None))
        for piece in _split(step.content, step.pieces):
            if step.delay:
                time.sleep(step.delay)
            self._event(self._chunk_obj(cid, request, {"content": piece}, None))
        self._event(self._chunk_obj(cid, request, {}, step.finish_reason))
        options = request.body.get("stream_options") or {}
        if isinstance(options, dict) and options.get("include_usage"):
            usage_chunk = self._chunk_obj(cid, request, {}, None)
            usage_chunk["choices"] = []
            prompt_tokens = _count_tokens(_prompt_text(request.body))
            completion_tokens = _count_tokens(step.content)
            usage_chunk["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            self._event(usage_chunk)
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")  # terminating zero-length chunk

    def _stream_then_fail(self, step: StreamThenFail, request: RecordedRequest) -> None:
        if request.body.get("stream"):
            cid = self.server.scripted._new_id()
            self._start_sse()
            self._event(self._chunk_obj(cid, request, {"role": "assistant", "content": ""}, None))
            for piece in _split(step.content_prefix, step.pieces):
                self._event(self._chunk_obj(cid, request, {"content": piece}, None))
        else:
            # announce the whole body, deliver half of it
            data = json.dumps(self._completion(Reply(step.content_prefix), request)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        # FIN without the terminating chunk: the client sees an incomplete body, after the chunks already sent
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
        raise _Released

    def _embeddings(self, request: RecordedRequest) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        inputs = body.get("input")
        if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            self._send_error(Status(400, "'input' must be a non-empty string or array"))
            return
        dim = int(body.get("dimensions") or EMBEDDING_DIM)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        tokens = 0
        for index, item in enumerate(inputs):
            text = item if isinstance(item, str) else json.dumps(item)
            tokens += _count_tokens(text)
            vector = fake_embedding(text, dim)
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode("ascii") if as_base64 else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model") or DEFAULT_MODEL,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    @staticmethod
    def _model(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 1700000000, "owned_by": "scripted"}

    # ---- low-level writing

    def _send_bytes(self, code: int, data: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()):
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", self.server.scripted._new_id("req"))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as exc:
            raise _Released from exc

    def _send_json(self, code: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self._send_bytes(code, data, "application/json", headers)

    def _send_error(self, step: Status) -> None:
        kind, code = _ERROR_KINDS.get(
            step.code, ("server_error" if step.code >= 500 else "invalid_request_error", None)
        )
        body = {
            "error": {
                "message": step.message,
                "type": step.error_type or kind,
                "param": None,
                "code": step.error_code or code,
            }
        }
        headers = []
        if step.retry_after is not None:
            value = step.retry_after
            headers.append(("Retry-After", str(int(value)) if float(value).is_integer() else str(value)))
            headers.append(("retry-after-ms", str(int(value * 1000))))
        self._send_json(step.code, body, headers)

    def _start_sse(self) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("x-request-id", self.server.scripted._new_id("req"))
            self.end_headers()
            self.wfile.flush()
        except OSError as exc:
            raise _Released from exc

    def _chunk(self, data: bytes) -> None:
        """Write one HTTP/1.1 chunk (b"" writes the terminating chunk)."""
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError as exc:
            raise _Released from exc


class ScriptedLLMServer:
    """An OpenAI-compatible server on 127.0.0.1 whose chat completions follow a script.

    Attributes: `base_url` ("http://127.0.0.1:PORT/v1"), `requests` (every `RecordedRequest`, in order),
    `default` (the step used when the script is empty), `models` (names served by /v1/models).
    """

    def __init__(
        self,
        *steps: StepLike,
        default: StepLike | None = None,
        models: Iterable[str] = (DEFAULT_MODEL,),
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.models: list[str] = list(models)
        self.default: StepLike = default if default is not None else Reply("scripted reply")
        self.requests: list[RecordedRequest] = []
        self._queue: deque[StepLike] = deque(steps)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._ids = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- scripting

    def script(self, *steps: StepLike) -> ScriptedLLMServer:
        """Append steps; each POST /v1/chat/completions consumes one."""
        with self._lock:
            self._queue.extend(steps)
        return self

    @property
    def pending(self) -> list[StepLike]:
        """Scripted steps not consumed yet."""
        with self._lock:
            return list(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the POST /v1/chat/completions requests."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == "/v1/chat/completions"]

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # ---- lifecycle

    def start(self) -> ScriptedLLMServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, 0), _Handler)
        httpd.scripted = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scripted-llm-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, release hung handlers, close every connection and join the threads."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        with self._lock:
            self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = dict(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # wakes handlers blocked reading idle keep-alive connections
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for handler_thread in connections.values():
            handler_thread.join(max(0.0, deadline - time.monotonic()))
        httpd.server_close()
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- used by the handler

    def _register(self, conn: socket.socket) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False
            self._connections[conn] = threading.current_thread()
            return True

    def _unregister(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.pop(conn, None)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_step(self, request: RecordedRequest) -> Step:
        with self._lock:
            step = self._queue.popleft() if self._queue else self.default
        while not isinstance(step, Step):
            step = step(request)
        return step

    def _new_id(self, prefix: str = "chatcmpl") -> str:
        return f"{prefix}-scripted-{next(self._ids)}"
