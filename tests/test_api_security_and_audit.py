"""API keys, rate limits, size limits, idempotency, feedback and the SQLite audit log."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from typer.testing import CliRunner

from copilot.api import create_app
from copilot.api.app import hash_key
from copilot.audit.store import MIGRATIONS as AUDIT_MIGRATIONS
from copilot.cli import app as cli
from copilot.service import Copilot
from tests.conftest import free_port, serve_in_thread

KEY = "crm-secret-key-1"
COMPLAINT = "我的手機 13812345678，電郵 wang@example.com，訂單 TW20251103-8812 晚了五天還沒到！"


@pytest.fixture
def secured(kb_settings, tmp_path):
    settings = kb_settings.model_copy(update={"audit_db": tmp_path / "audit.sqlite3", "conversations_db": tmp_path / "c.sqlite3",
                                              "api_key_hashes": [hash_key(KEY)],
                                              "rate_limit_per_minute": 30, "max_request_bytes": 50_000})
    server, thread, url = serve_in_thread(create_app(Copilot(settings)))
    yield url, settings
    server.should_exit = True
    thread.join(timeout=10)


def _auth() -> dict:
    return {"X-API-Key": KEY}


def test_keys_are_required_and_unknown_keys_refused(secured):
    url, _ = secured
    assert httpx.post(f"{url}/v1/check", json={"text": "hi"}).json()["error"]["code"] == "missing_api_key"
    r = httpx.post(f"{url}/v1/check", json={"text": "hi"}, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unknown_api_key"
    ok = httpx.post(f"{url}/v1/check", json={"text": "Thank you, I will call you back today."}, headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200
    assert httpx.get(f"{url}/healthz").status_code == 200, "health needs no key"


def test_oversized_and_malformed_bodies_get_clear_errors(secured):
    url, settings = secured
    big = httpx.post(f"{url}/v1/check", content=json.dumps({"text": "x" * 60_000}), headers=_auth() | {"content-type": "application/json"})
    assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"
    bad = httpx.post(f"{url}/v1/check", content=b"{not json", headers=_auth() | {"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_json"
    wrong = httpx.post(f"{url}/v1/suggest", json={"complaint": 42}, headers=_auth())
    assert wrong.status_code == 422 and "complaint" in wrong.json()["error"]["message"]
    rows = sqlite3.connect(settings.audit_path).execute("SELECT count(*) FROM suggestions").fetchone()[0]
    assert rows == 0, "nothing is logged for a rejected request"


def test_rate_limit_per_key(secured):
    url, _ = secured
    codes = [httpx.post(f"{url}/v1/check", json={"text": "Thanks, I'll call you back today."}, headers=_auth()).status_code for _ in range(35)]
    assert codes.count(429) >= 1 and codes[0] == 200
    limited = httpx.post(f"{url}/v1/check", json={"text": "hi"}, headers=_auth())
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_every_error_speaks_one_format(secured):
    """Unknown routes and methods, unparseable bodies and a 2 MB body (declared, or sent in chunks without a
    length) all answer {"error": {code, message, request_id}}; the 413 arrives instead of a reset connection."""
    url, _ = secured

    def code(response: httpx.Response) -> tuple[int, str]:
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id"}, body
        assert response.headers["x-request-id"] == body["error"]["request_id"]
        return response.status_code, body["error"]["code"]

    assert code(httpx.get(f"{url}/v1/nowhere", headers=_auth())) == (404, "not_found")
    assert code(httpx.get(f"{url}/no/such/page")) == (404, "not_found")
    assert code(httpx.put(f"{url}/v1/suggest", headers=_auth())) == (405, "method_not_allowed")
    assert code(httpx.post(f"{url}/v1/check", content=b"\xff\xfe{", headers=_auth() | {"content-type": "application/json"}))[0] == 400
    two_mb = json.dumps({"complaint": "貨還沒到" * 180_000}).encode()
    assert code(httpx.post(f"{url}/v1/suggest", content=two_mb, headers=_auth() | {"content-type": "application/json"},
                           timeout=60)) == (413, "request_too_large")

    def chunks():
        for start in range(0, len(two_mb), 65_536):
            yield two_mb[start : start + 65_536]

    assert code(httpx.post(f"{url}/v1/suggest", content=chunks(), headers=_auth() | {"content-type": "application/json"},
                           timeout=60)) == (413, "request_too_large")
    assert code(httpx.post(f"{url}/v1/conversations/none/messages", json={"role": "customer", "text": "hi"},
                           headers=_auth())) == (404, "unknown_conversation")


@pytest.mark.parametrize("blank", ["\u200b\u200b\u200b", "\u2060\ufeff", "\u200e\u200f \u3000", "\u2800\u2800", "\u3164"])
def test_text_that_shows_nothing_is_refused_as_empty(secured, blank):
    url, _ = secured
    complaint = httpx.post(f"{url}/v1/suggest", json={"complaint": blank}, headers=_auth(), timeout=60)
    assert complaint.status_code == 422 and "empty" in complaint.json()["error"]["message"]
    check = httpx.post(f"{url}/v1/check", json={"text": blank}, headers=_auth())
    assert check.status_code == 422 and check.json()["error"]["code"] == "invalid_text"
    assert httpx.post(f"{url}/v1/conversations", json={"id": f"blank-{ord(blank[0])}"}, headers=_auth()).status_code == 201
    turn = httpx.post(f"{url}/v1/conversations/blank-{ord(blank[0])}/messages", json={"role": "customer", "text": blank},
                      headers=_auth())
    assert turn.status_code == 422 and turn.json()["error"]["code"] == "invalid_message"


def test_suggest_is_logged_masked_and_idempotent_and_feedback_is_recorded(secured):
    url, settings = secured
    headers = _auth() | {"Idempotency-Key": "crm-123"}
    first = httpx.post(f"{url}/v1/suggest", json={"complaint": COMPLAINT}, headers=headers, timeout=60)
    again = httpx.post(f"{url}/v1/suggest", json={"complaint": COMPLAINT}, headers=headers, timeout=60)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true" and again.json()["id"] == first.json()["id"]
    other = httpx.post(f"{url}/v1/suggest", json={"complaint": "宽带断网三天了，什么时候修好？"}, headers=headers, timeout=60)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    start = [httpx.post(f"{url}/v1/conversations", json={"id": "crm-start-1"}, headers=_auth() | {"Idempotency-Key": "s-1"},
                        timeout=60) for _ in range(2)]
    assert [r.status_code for r in start] == [201, 201] and start[1].headers.get("idempotent-replayed") == "true"
    suggestion = first.json()
    fb = httpx.post(f"{url}/v1/feedback", headers=_auth(), json={
        "suggestion_id": suggestion["id"], "draft_kind": "empathetic_reply", "useful": False,
        "reason": "blame_removed", "final_text": "真的很抱歉，這件事由我負責，我會在 24 小時內回覆您。"})
    assert fb.status_code == 200 and fb.json()["edited"] is True and fb.json()["final_check"]["verdict"] == "ok"
    unknown = httpx.post(f"{url}/v1/feedback", headers=_auth(), json={"suggestion_id": "nope", "draft_kind": "compensation", "useful": True})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_suggestion"

    db = sqlite3.connect(settings.audit_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == AUDIT_MIGRATIONS.latest
    (complaint,) = db.execute("SELECT complaint FROM suggestions WHERE id = ?", (suggestion["id"],)).fetchone()
    assert "13812345678" not in complaint and "wang@example.com" not in complaint and "[PHONE]" in complaint
    assert db.execute("SELECT count(*) FROM suggestions").fetchone()[0] == 1, "the replay was not a second suggestion"
    assert db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM checks WHERE final = 1").fetchone()[0] == 1

    result = CliRunner().invoke(cli, ["logs", "export", "--format", "jsonl", "--since", "2020-01-01"],
                                env={"COPILOT_AUDIT_DB": str(settings.audit_path)})
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["type"] for r in records} == {"suggestion", "check", "feedback"}
    assert "13812345678" not in result.stdout
    csv_out = CliRunner().invoke(cli, ["logs", "export", "--format", "csv"], env={"COPILOT_AUDIT_DB": str(settings.audit_path)})
    assert csv_out.exit_code == 0 and csv_out.stdout.splitlines()[0].startswith("type,id,created_at")
    bad = CliRunner().invoke(cli, ["logs", "export", "--since", "last week"], env={"COPILOT_AUDIT_DB": str(settings.audit_path)})
    assert bad.exit_code == 2 and "not a date" in bad.stderr


def test_keys_hash_cli_and_refusal_to_listen_openly_without_keys():
    result = CliRunner().invoke(cli, ["keys", "hash", KEY])
    assert result.stdout.strip() == hash_key(KEY)
    refused = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", str(free_port())], env={"COPILOT_API_KEY_HASHES": "[]"})
    assert refused.exit_code == 2 and "without API keys" in refused.stderr


def test_analytics_aggregate_the_log(kb_settings, tmp_path):
    from copilot.audit import Feedback

    service = Copilot(kb_settings.model_copy(update={"audit_db": tmp_path / "a.sqlite3"}))
    s = service.suggest("宽带断网三天了，什么时候修好？")
    service.feedback(Feedback(suggestion_id=s.id, draft_kind="compensation", useful=True))
    service.feedback(Feedback(suggestion_id=s.id, draft_kind="empathetic_reply", useful=False, reason="too_long",
                              final_text="请您冷静一点，这是系统出的问题。"))
    data = service.analytics()
    assert data["per_day"][0]["suggestions"] == 1
    assert {r["measure"]: r["rate"] for r in data["rates"]} == {"accepted": 0.5, "edited": 0.5}
    assert data["categories"][0]["category"] == "telecom/broadband_outage"
    assert any(r["rule"].startswith("arguing_minimising") for r in data["by_rule"])


def test_readiness_reports_an_unreachable_llm_without_failing(kb_settings, tmp_path):
    from fastapi.testclient import TestClient

    settings = kb_settings.model_copy(update={"audit_db": tmp_path / "a.sqlite3", "llm_base_url": f"http://127.0.0.1:{free_port()}/v1"})
    body = TestClient(create_app(Copilot(settings))).get("/readyz").json()
    assert body["ready"] is True and body["engine"] == "composer" and body["llm"].startswith("unreachable")


def test_serve_says_clearly_when_the_port_is_taken():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 2 and "already in use" in result.stderr and "--port" in result.stderr
