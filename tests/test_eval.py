"""Offline eval runs: the CI gate, resuming, the report, run-to-run diffs, shared-data loaders, the judge."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from copilot.cli import app
from copilot.eval.dataset import cfpb_cases, load_cases, review_cases
from copilot.eval.runner import diff_runs, run_eval
from copilot.service import Copilot
from copilot.settings import PROJECT_ROOT
from tests.conftest import DATA
from tests.llm_server import ScriptedLLMServer, reply_json
from tests.test_suggest import GOOD, READING

DATASET = PROJECT_ROOT / "evals" / "datasets" / "complaints.jsonl"
THRESHOLDS = PROJECT_ROOT / "evals" / "thresholds.toml"


def test_the_dataset_is_labelled_in_three_scripts():
    cases = load_cases(DATASET)
    assert len(cases) >= 150
    assert {c.expect.lang for c in cases} == {"zh-Hant", "zh-Hans", "en"}
    assert all(c.expect.domain and c.expect.category and c.expect.needs is not None for c in cases)


def test_small_eval_passes_the_ci_gates(kb_settings, tmp_path):
    """The gate `make test` runs: 30 complaints across the three scripts, composer engine."""
    cases = load_cases(DATASET)
    picked = [c for lang in ("zh-Hant", "zh-Hans", "en") for c in [c for c in cases if c.expect.lang == lang][:10]]
    source = tmp_path / "small.jsonl"
    source.write_text("".join(json.dumps({"id": c.id, "complaint": c.complaint, "context": c.context.model_dump(exclude_none=True),
                                          "expect": c.expect.model_dump()}, ensure_ascii=False) + "\n" for c in picked), encoding="utf-8")
    out = tmp_path / "run"
    # a real process, as CI and a quality team run it
    result = subprocess.run([sys.executable, "-m", "copilot.cli", "eval", "run", str(source), "--out", str(out), "--thresholds", str(THRESHOLDS)],
                            env=os.environ | {"COPILOT_DATA_DIR": str(kb_settings.data_dir)}, capture_output=True, text=True, timeout=600,
                            cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["cases"] == 30 and summary["drafts_with_violations"] == 0 and summary["language_mismatches"] == 0
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in report and "The ten worst cases" in report and report.count("<section>") == 10


def test_a_run_resumes_after_an_interruption(kb_settings, tmp_path):
    cases = load_cases(DATASET)[:6]
    service = Copilot(kb_settings.model_copy(update={"audit_db": tmp_path / "audit.sqlite3"}))
    out = tmp_path / "run"
    run_eval(service, cases[:4], out, progress=False)
    results = out / "results.jsonl"
    lines = results.read_text(encoding="utf-8").splitlines()
    results.write_text("\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2], encoding="utf-8")  # cut mid-write
    summary = run_eval(service, cases, out, progress=False)
    ids = [json.loads(line)["id"] for line in results.read_text(encoding="utf-8").splitlines()]
    assert sorted(ids) == sorted(c.id for c in cases) and summary["cases"] == 6
    logged = sqlite3.connect(tmp_path / "audit.sqlite3").execute("SELECT count(*) FROM suggestions").fetchone()[0]
    assert logged == 4 + 3, "three cases finished before, the cut one and the two new ones ran"


def test_diff_shows_what_got_worse_case_by_case(kb_settings, tmp_path):
    cases = load_cases(DATASET)[:3]
    service = Copilot(kb_settings.model_copy(update={"audit_db": tmp_path / "audit.sqlite3"}))
    run_eval(service, cases, tmp_path / "a", progress=False)
    b = tmp_path / "b"
    b.mkdir()
    rows = [json.loads(line) for line in (tmp_path / "a" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    rows[1]["drafts"][0]["violations"] = ["blame_department.named_fault"]
    (b / "results.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    report = diff_runs(tmp_path / "a", b)
    assert [w["id"] for w in report["worse"]] == [rows[1]["id"]] and report["better"] == []
    assert "drafts_with_violations" in report["totals"]
    result = CliRunner().invoke(app, ["eval", "diff", str(tmp_path / "a"), str(b)])
    assert result.exit_code == 0 and "worse: 1" in result.stdout and "blame_department" in result.stdout


def test_shared_data_loaders():
    if not DATA.exists():
        pytest.skip(f"{DATA} is absent")
    assert len(cfpb_cases(DATA, n=20)) == 20 and all(c.expect.lang == "en" for c in cfpb_cases(DATA, n=5))
    assert len(review_cases(DATA, n=20)) == 20 and all(c.expect.lang == "zh-Hans" for c in review_cases(DATA, n=5))


def test_llm_judge_scores_drafts_and_reports_agreement(kb_settings, tmp_path):
    def answer(request):
        system = request["messages"][0]["content"]
        if "two candidate" in system:
            return reply_json({"preferred": "tie"})
        if "quality reviewer" in system:
            return reply_json({"on_topic": True, "invented_facts": False, "natural": 4, "sendable": True, "breaks_rules": False})
        if "structured reading" in system:
            return reply_json(READING)
        return reply_json(GOOD)

    cases = [c for c in load_cases(DATASET) if c.expect.lang == "zh-Hant"][:2]
    cases[0] = cases[0].model_copy(update={"reference_reply": "您好，包裹晚了這麼多天，真的很抱歉。麻烦提供訂單號，我馬上幫您查。"})
    with ScriptedLLMServer(default=answer) as server:
        settings = kb_settings.model_copy(update={"audit_db": tmp_path / "audit.sqlite3", "llm_base_url": server.base_url,
                                                  "llm_model": "scripted-model", "llm_retries": 0, "llm_timeout": 5.0})
        summary = run_eval(Copilot(settings), cases, tmp_path / "run", use_judge=True, progress=False)
        judge_calls = [r for r in server.chat_requests if "quality reviewer" in r["messages"][0]["content"]]
        pairwise = [r for r in judge_calls if "two candidate" in r["messages"][0]["content"]]
    assert len(judge_calls) - len(pairwise) == 2 * 3 * 3, "three samples for each of three drafts of two cases"
    assert len(pairwise) == 1 and "reply id=" in pairwise[0].text, "only the case with a reference reply is compared"
    assert summary["judge"] == {"on_topic": 1.0, "invented_facts": 0.0, "natural": 4.0, "sendable": 1.0, "agreement": 1.0,
                                "preferred_to_reference": 0.5}
    assert summary["engine"] == "llm"
