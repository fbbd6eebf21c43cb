"""The scripted OpenAI-compatible test server, exercised with the real `openai` SDK (127.0.0.1 only)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from tests.llm_server import (
    DEFAULT_MODEL,
    ScriptedLLMServer,
    fake_embedding,
    hang,
    malformed,
    reply,
    reply_json,
    status,
    stream_then_fail,
)

pytestmark = pytest.mark.timeout(10)

MESSAGES = [{"role": "user", "content": "我的订单 12345 还没到，请回电 555-0100"}]


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        yield srv


def client_for(server: ScriptedLLMServer, *, timeout: float = 1.5, max_retries: int = 0) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="test-key", timeout=timeout, max_retries=max_retries)


def chat(client: OpenAI, **kwargs):
    return client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, **kwargs)


def test_base_url_is_loopback_v1(server: ScriptedLLMServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"


def test_non_streaming_reply(server: ScriptedLLMServer) -> None:
    server.script(reply("您好，非常抱歉给您带来不便。"))
    completion = chat(client_for(server))
    assert completion.choices[0].message.content == "您好，非常抱歉给您带来不便。"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.model == DEFAULT_MODEL
    assert completion.id
    assert completion.usage is not None
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_streaming_reply_arrives_in_several_chunks(server: ScriptedLLMServer) -> None:
    text = "We are sorry about the delay; a replacement ships today."
    server.script(reply(text))
    chunks = list(chat(client_for(server), stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 3
    assert "".join(pieces) == text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert server.chat_requests[0].body["stream"] is True


def test_streaming_with_include_usage_sends_a_usage_chunk(server: ScriptedLLMServer) -> None:
    server.script(reply("ok then"))
    chunks = list(chat(client_for(server), stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_reply_json_parses_back(server: ScriptedLLMServer) -> None:
    payload = {"intent": "refund", "severity": 3, "summary": "包裹丢失"}
    server.script(reply_json(payload))
    completion = chat(
        client_for(server),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "analysis", "schema": {"type": "object"}, "strict": True},
        },
    )
    assert json.loads(completion.choices[0].message.content) == payload
    assert "包裹丢失" in completion.choices[0].message.content  # ensure_ascii=False
    sent = server.chat_requests[0]
    assert sent.body["response_format"]["type"] == "json_schema"
    assert sent.body["response_format"]["json_schema"]["name"] == "analysis"


def test_429_without_retries_raises_rate_limit_error(server: ScriptedLLMServer) -> None:
    server.script(status(429, "slow down", retry_after=1))
    with pytest.raises(openai.RateLimitError) as info:
        chat(client_for(server, max_retries=0))
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.code == "rate_limit_exceeded"
    assert "slow down" in str(info.value)
    assert len(server.chat_requests) == 1


def test_429_with_short_retry_after_is_retried_by_the_sdk(server: ScriptedLLMServer) -> None:
    server.script(status(429, retry_after=0.01), reply("second time lucky"))
    completion = chat(client_for(server, max_retries=1))
    assert completion.choices[0].message.content == "second time lucky"
    retries = [r.headers.get("x-stainless-retry-count") for r in server.chat_requests]
    assert retries == ["0", "1"]


def test_500_raises_internal_server_error(server: ScriptedLLMServer) -> None:
    server.script(status(500, "boom"))
    with pytest.raises(openai.InternalServerError) as info:
        chat(client_for(server))
    assert info.value.status_code == 500
    assert info.value.body == {"message": "boom", "type": "server_error", "param": None, "code": None}


def test_hang_past_client_timeout_raises_api_timeout_error(server: ScriptedLLMServer) -> None:
    server.script(hang(5), reply("after the hang"))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        chat(client_for(server, timeout=0.5))
    assert time.monotonic() - started < 1.5
    # the hung handler noticed the disconnect; the next scripted step is still served normally
    assert chat(client_for(server)).choices[0].message.content == "after the hang"


def test_short_hang_then_answers(server: ScriptedLLMServer) -> None:
    server.script(hang(0.2, then=reply("late but here")))
    assert chat(client_for(server, timeout=1.5)).choices[0].message.content == "late but here"


def test_malformed_json_body_raises_plain_json_decode_error_not_api_error(server: ScriptedLLMServer) -> None:
    # openai 3.x calls response.json() on an application/json body without wrapping the failure
    server.script(malformed())
    with pytest.raises(json.JSONDecodeError) as info:
        chat(client_for(server))
    assert not isinstance(info.value, openai.APIError)


def test_malformed_text_plain_body_is_returned_as_str_by_the_sdk(server: ScriptedLLMServer) -> None:
    # a non-JSON content type makes the SDK hand back the raw text instead of a ChatCompletion
    server.script(malformed("<html>gateway</html>", content_type="text/plain"))
    assert chat(client_for(server)) == "<html>gateway</html>"


def test_malformed_sse_event_raises_json_decode_error_while_iterating(server: ScriptedLLMServer) -> None:
    server.script(malformed())
    with pytest.raises(json.JSONDecodeError):
        list(chat(client_for(server), stream=True))


def test_stream_then_fail_raises_api_connection_error_after_partial_chunks(server: ScriptedLLMServer) -> None:
    server.script(stream_then_fail("抱歉，我们正在"))
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in chat(client_for(server), stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "抱歉，我们正在"
    assert len([p for p in received if p]) == 2


def test_stream_then_fail_on_non_streaming_request_raises_api_connection_error(
    server: ScriptedLLMServer,
) -> None:
    server.script(stream_then_fail("partial"))
    with pytest.raises(openai.APIConnectionError):
        chat(client_for(server))


def test_requests_are_recorded_in_order_with_headers(server: ScriptedLLMServer) -> None:
    server.script(reply("one"), reply("two"))
    client = client_for(server)
    chat(client, temperature=0.1)
    client.chat.completions.create(model="other-model", messages=[{"role": "user", "content": "second"}])
    first, second = server.chat_requests
    assert first.body["messages"] == MESSAGES
    assert first["temperature"] == 0.1
    assert "555-0100" in first.text and "我的订单" in first.text
    assert second.body["model"] == "other-model"
    assert "555-0100" not in second.text
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.headers["content-type"].startswith("application/json")
    assert server.pending == []


def test_default_step_is_used_when_the_script_is_empty(server: ScriptedLLMServer) -> None:
    client = client_for(server)
    assert chat(client).choices[0].message.content == "scripted reply"
    server.default = reply("new default")
    server.script(reply("scripted first"))
    assert chat(client).choices[0].message.content == "scripted first"
    assert chat(client).choices[0].message.content == "new default"
    assert chat(client).choices[0].message.content == "new default"


def test_callable_step_sees_the_request(server: ScriptedLLMServer) -> None:
    server.script(lambda request: reply(f"echo: {request.body['messages'][-1]['content']}"))
    assert chat(client_for(server)).choices[0].message.content == f"echo: {MESSAGES[-1]['content']}"


def test_models_list_includes_default_model(server: ScriptedLLMServer) -> None:
    client = client_for(server)
    assert DEFAULT_MODEL in [m.id for m in client.models.list().data]
    assert client.models.retrieve(DEFAULT_MODEL).id == DEFAULT_MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_embeddings_are_deterministic_in_both_encodings(server: ScriptedLLMServer) -> None:
    client = client_for(server)
    default = client.embeddings.create(model="embed", input=["退款", "refund"])  # SDK asks for base64
    floats = client.embeddings.create(model="embed", input="退款", encoding_format="float")
    assert server.requests[-2].body["encoding_format"] == "base64"
    assert [d.index for d in default.data] == [0, 1]
    assert len(default.data[0].embedding) == 8
    assert default.data[0].embedding == floats.data[0].embedding == fake_embedding("退款")
    assert default.data[0].embedding != default.data[1].embedding
    assert sum(v * v for v in floats.data[0].embedding) == pytest.approx(1.0, abs=1e-5)


def test_stop_releases_hung_requests_quickly() -> None:
    outcome: list[BaseException] = []
    srv = ScriptedLLMServer(hang(30)).start()
    client = client_for(srv, timeout=10)

    def call() -> None:
        try:
            chat(client)
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    deadline = time.monotonic() + 2
    while not srv.chat_requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.chat_requests, "request never arrived"
    started = time.monotonic()
    srv.stop()
    caller.join(2)
    assert time.monotonic() - started < 1.5
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], openai.APIConnectionError)
