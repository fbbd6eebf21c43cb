"""Conversations over HTTP (a real uvicorn server on loopback): start, add turns, read the trend and the ledger,
next-turn suggestions (also as server-sent events), checks against the ledger, rewrites and the brief."""

from __future__ import annotations

import json

import httpx
import pytest

from copilot.api import create_app
from copilot.service import Copilot
from tests.conftest import serve_in_thread
from tests.test_conversations import conversation_data


@pytest.fixture(scope="module")
def api(kb_settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-conversations")
    settings = kb_settings.model_copy(update={"audit_db": folder / "audit.sqlite3", "conversations_db": folder / "conversations.sqlite3"})
    server, thread, url = serve_in_thread(create_app(Copilot(settings)))
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_a_conversation_over_http(api):
    data = conversation_data("en")
    r = httpx.post(f"{api}/v1/conversations", json={"id": "crm-991", "channel": "chat", "policy": data["policy"]})
    assert r.status_code == 201 and r.json()["id"] == "crm-991"
    assert httpx.post(f"{api}/v1/conversations", json={"id": "crm-991"}).json()["error"]["code"] == "conversation_exists"

    for turn in data["turns"][:11]:
        r = httpx.post(f"{api}/v1/conversations/crm-991/messages", json={k: turn[k] for k in ("role", "text", "at")}, timeout=30)
        assert r.status_code == 200, r.text
    body = r.json()["conversation"]
    assert len(body["turns"]) == 11 and body["trend"]["direction"] == "escalating"
    assert any(a["kind"] == "manager" for a in body["trend"]["alerts"])
    assert any(c["kind"] == "callback" and c["due"] for c in body["commitments"])

    # a customer turn can bring the next suggestion back with it
    r = httpx.post(f"{api}/v1/conversations/crm-991/messages?suggest=true",
                   json={"role": "customer", "text": "So who is actually going to sort this out?", "at": "2026-11-16T10:05:00+00:00"}, timeout=60)
    suggestion = r.json()["suggestion"]
    assert suggestion["conversation_id"] == "crm-991" and len(suggestion["drafts"]) == 3
    assert all(d["check"]["verdict"] == "ok" for d in suggestion["drafts"])

    got = httpx.get(f"{api}/v1/conversations/crm-991").json()
    assert len(got["turns"]) == 12 and got["turns"][-1]["reading"]["anger"] >= 1

    check = httpx.post(f"{api}/v1/conversations/crm-991/check", json={"text": "I'll call you back within a week."}).json()
    assert [v["rule_id"] for v in check["violations"]] == ["ledger.conflicting_deadline"]

    brief = httpx.post(f"{api}/v1/conversations/crm-991/brief", json={"language": "zh-Hant"}, timeout=30).json()
    assert brief["language"] == "zh-Hant" and brief["title"] and "HT7Q4M" in json.dumps(brief, ensure_ascii=False)

    rewrite = httpx.post(f"{api}/v1/rewrite", json={"text": suggestion["drafts"][0]["text"], "control": "shorter",
                                                   "conversation_id": "crm-991"}).json()
    assert len(rewrite["text"]) < len(suggestion["drafts"][0]["text"]) and rewrite["check"]["verdict"] == "ok"


def test_next_turn_suggestion_streams_as_server_sent_events(api):
    data = conversation_data("zh-Hans")
    conversation_id = httpx.post(f"{api}/v1/conversations", json={"policy": data["policy"]}).json()["id"]
    for turn in data["turns"][:5]:
        httpx.post(f"{api}/v1/conversations/{conversation_id}/messages", json={k: turn[k] for k in ("role", "text", "at")}, timeout=30)
    with httpx.stream("POST", f"{api}/v1/conversations/{conversation_id}/suggest?stream=true", timeout=60) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and names.count("draft") == 3 and "delta" in names and "check" in names
    done = events[-1][1]["suggestion"]
    assert done["conversation_id"] == conversation_id and [d["language"] for d in done["drafts"]] == ["zh-Hans"] * 3


def test_plain_suggest_also_streams(api):
    with httpx.stream("POST", f"{api}/v1/suggest/stream", json={"complaint": "My refund from 3 November still has not arrived."},
                      timeout=60) as response:
        events = sse_events(response)
    assert events[-1][0] == "done" and len(events[-1][1]["suggestion"]["drafts"]) == 3


@pytest.mark.parametrize(("method", "path", "payload", "status", "code"), [
    ("post", "/v1/conversations/missing/messages", {"role": "customer", "text": "hi"}, 404, "unknown_conversation"),
    ("get", "/v1/conversations/missing", None, 404, "unknown_conversation"),
    ("post", "/v1/conversations/missing/suggest", None, 404, "unknown_conversation"),
    ("post", "/v1/conversations/missing/brief", {}, 404, "unknown_conversation"),
    ("post", "/v1/conversations", {"id": "has spaces"}, 422, "invalid_request"),
    ("post", "/v1/conversations", {"policy": "nowhere/nothing"}, 422, "invalid_conversation"),
    ("post", "/v1/rewrite", {"text": "Sorry for the wait.", "control": "louder"}, 422, "invalid_request"),
    ("post", "/v1/rewrite", {"text": "Sorry for the wait.", "control": "language", "target": "zh-Hant"}, 422, "rewrite_unavailable"),
    ("post", "/v1/rewrite", {"text": "   ", "control": "shorter"}, 422, "invalid_text"),
])
def test_conversation_errors_are_clear(api, method, path, payload, status, code):
    r = httpx.request(method.upper(), f"{api}{path}", json=payload, timeout=30)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert r.json()["error"]["message"]


def test_turn_errors_keep_the_conversation_intact(api):
    conversation_id = httpx.post(f"{api}/v1/conversations", json={}).json()["id"]
    assert httpx.post(f"{api}/v1/conversations/{conversation_id}/suggest").json()["error"]["code"] == "no_customer_turn"
    for payload, code in [({"role": "customer", "text": "  "}, "invalid_message"),
                          ({"role": "customer", "text": "hi", "at": "2026-11-20T09:00:00"}, "invalid_request"),
                          ({"role": "customer", "text": "x" * 20_001}, "invalid_request")]:
        r = httpx.post(f"{api}/v1/conversations/{conversation_id}/messages", json=payload)
        assert r.status_code == 422 and r.json()["error"]["code"] == code
        assert "UTC offset" in r.text or code != "invalid_request" or "20000" in r.text.replace(",", "")
    assert httpx.get(f"{api}/v1/conversations/{conversation_id}").json()["turns"] == []


def test_a_conversation_can_be_forgotten(api):
    conversation_id = httpx.post(f"{api}/v1/conversations", json={}).json()["id"]
    httpx.post(f"{api}/v1/conversations/{conversation_id}/messages", json={"role": "customer", "text": "My card was blocked at 13812345678."})
    assert httpx.delete(f"{api}/v1/conversations/{conversation_id}").status_code == 204
    assert httpx.get(f"{api}/v1/conversations/{conversation_id}").status_code == 404
    assert httpx.delete(f"{api}/v1/conversations/{conversation_id}").json()["error"]["code"] == "unknown_conversation"
