"""The HTTP API over a real server on loopback."""

from __future__ import annotations

import httpx
import pytest


def test_health_and_readiness(api):
    assert httpx.get(f"{api}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{api}/readyz").json()
    assert ready["ready"] is True and ready["index_passages"] > 100 and ready["engine"] == "composer"


def test_check_returns_spans_and_a_fix(api):
    r = httpx.post(f"{api}/v1/check", json={"text": "請您冷靜一點，這是倉庫的錯。", "fix": True})
    body = r.json()
    assert r.status_code == 200 and body["verdict"] == "reject"
    assert {v["category"] for v in body["violations"]} >= {"arguing_minimising", "blame_department"}
    assert body["fixed_text"] and "冷靜" not in body["fixed_text"]
    assert r.headers["x-request-id"]


def test_check_separates_shown_findings_from_a_second_look_and_reads_clause_roles(api):
    text = "Sorry about the wait, and to be honest that's just how it is in December. Could you tell us the order number?"
    body = httpx.post(f"{api}/v1/check", json={"text": text}).json()
    from copilot.checking.calibration import load_calibration
    from copilot.settings import PROJECT_ROOT

    show_at = load_calibration(PROJECT_ROOT / "knowledge" / "rules" / "calibration.yaml").show_at
    assert all(show_at <= v["confidence"] <= 1 for v in body["violations"])
    assert all(v["confidence"] < show_at for v in body["second_look"])
    roles = {text[c["start"] : c["end"]].strip(): c["role"] for c in body["clauses"]}
    assert roles["Could you tell us the order number?"] == "question"


def test_suggest_returns_three_drafts(api):
    r = httpx.post(f"{api}/v1/suggest", json={"complaint": "宽带断网三天了，什么时候修好？", "context": {"level": "agent"}}, timeout=60)
    body = r.json()
    assert r.status_code == 200
    assert [d["kind"] for d in body["drafts"]] == ["empathetic_reply", "expectation_lowering", "compensation"]
    assert all(d["language"] == "zh-Hans" and d["check"]["verdict"] == "ok" for d in body["drafts"])


@pytest.mark.parametrize(
    ("path", "payload", "code"),
    [("/v1/check", {"text": "   "}, "invalid_text"), ("/v1/check", {"txt": "hi"}, "invalid_request"),
     ("/v1/suggest", {"complaint": ""}, "invalid_complaint"), ("/v1/check", {"text": "hi", "level": "boss"}, "invalid_request")],
)
def test_bad_requests_get_json_errors_with_a_code(api, path, payload, code):
    r = httpx.post(f"{api}{path}", json=payload)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == code and error["message"] and error["request_id"]


def test_kb_search(api):
    r = httpx.get(f"{api}/v1/kb/search", params={"q": "customer demands a manager", "k": 3, "language": "en"})
    hits = r.json()
    assert r.status_code == 200 and len(hits) == 3 and all(h["language"] == "en" for h in hits)
    assert httpx.get(f"{api}/v1/kb/search", params={"q": " "}).json()["error"]["code"] == "invalid_query"
