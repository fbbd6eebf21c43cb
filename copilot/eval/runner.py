"""Replay cases through the Copilot service, write results.jsonl as they finish (resumable), then the
summary and the HTML report."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from copilot.eval.dataset import EvalCase
from copilot.eval.judge import judge, prefer
from copilot.eval.metrics import CaseResult, measure, summarise
from copilot.eval.report import write_report
from copilot.service import ComplaintError, Copilot


def _one(service: Copilot, case: EvalCase, use_judge: bool) -> CaseResult:
    try:
        s = service.suggest(case.complaint, case.context)
    except ComplaintError as exc:
        return CaseResult(id=case.id, complaint=case.complaint, policy=None, language="", drafts=[], texts={}, timings_ms={}, error=str(exc))
    spans = {d.kind: [(v.start, v.end, v.rule_id) for v in d.check.violations] for d in s.drafts}

    def limit_of(key: str) -> float | None:
        category = service.policies.category(key)
        return category.limit(case.context.level) if category else None

    category = service.policies.category(s.policy) if s.policy else None
    result = measure(case, s, limit_of, spans, category.wording() if category else "")
    if use_judge and service.llm is not None:
        by_id = {p.chunk_id: p for p in s.passages}
        channel = case.context.channel or "chat"
        for metrics, draft in zip(result.drafts, s.drafts, strict=True):
            cited = "\n".join(f"- {by_id[c.chunk_id].text}" for c in draft.citations if c.chunk_id in by_id)
            metrics.judge = judge(service.llm, case.complaint, draft.kind, draft.text, cited, bool(draft.check.violations),
                                  channel=channel)
        if case.reference_reply:
            result.preferred = prefer(service.llm, case.complaint, s.drafts[0].text, case.reference_reply, channel, case.id)
    return result


def run_eval(service: Copilot, cases: list[EvalCase], out_dir: Path, *, concurrency: int = 1, use_judge: bool = False,
             progress: bool = True) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.jsonl"
    done: dict[str, CaseResult] = {}
    if results_path.exists():  # resume: keep what finished before an interruption
        for line in results_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    r = CaseResult.model_validate_json(line)
                    done[r.id] = r
                except ValueError:
                    continue  # a line cut by the interruption
        results_path.write_text("".join(r.model_dump_json() + "\n" for r in done.values()), encoding="utf-8")
    todo = [c for c in cases if c.id not in done]
    lock = threading.Lock()
    bar = tqdm(total=len(cases), initial=len(cases) - len(todo), unit="case", disable=not progress, desc="eval")
    with results_path.open("a", encoding="utf-8") as sink, bar, ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {pool.submit(_one, service, case, use_judge): case for case in todo}
        for future in as_completed(futures):
            result = future.result()
            with lock:
                sink.write(result.model_dump_json() + "\n")
                sink.flush()
                done[result.id] = result
                bar.update(1)
    ordered = [done[c.id] for c in cases if c.id in done]
    summary = summarise(ordered)
    summary["engine"] = "llm" if service.llm is not None else "composer"
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    write_report(out_dir / "report.html", summary, ordered)
    return summary


def load_results(run_dir: Path) -> dict[str, CaseResult]:
    path = run_dir / "results.jsonl" if run_dir.is_dir() else run_dir
    return {r.id: r for r in (CaseResult.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())}


def diff_runs(a: Path, b: Path) -> dict:
    """What got better and worse from run A to run B, case by case."""
    ra, rb = load_results(a), load_results(b)
    better, worse = [], []
    for case_id in sorted(set(ra) & set(rb)):
        x, y = ra[case_id].badness, rb[case_id].badness
        if y < x:
            better.append({"id": case_id, "from": round(x, 2), "to": round(y, 2)})
        elif y > x:
            worse.append({"id": case_id, "from": round(x, 2), "to": round(y, 2), "problems": _problems(rb[case_id])})
    sa, sb = summarise(list(ra.values())), summarise(list(rb.values()))
    changed = {k: {"a": sa[k], "b": sb[k]} for k in sa if isinstance(sa[k], (int, float)) and sa[k] != sb.get(k)}
    return {"better": better, "worse": worse, "only_in_a": sorted(set(ra) - set(rb)), "only_in_b": sorted(set(rb) - set(ra)), "totals": changed}


def _problems(r: CaseResult) -> list[str]:
    out = [f"{d.kind}: {', '.join(d.violations)}" for d in r.drafts if d.violations]
    out += [f"{d.kind}: language" for d in r.drafts if not d.language_ok]
    out += [f"{d.kind}: compensation over limit" for d in r.drafts if not d.compensation_ok]
    out += [f"{d.kind}: {', '.join(d.defects)}" for d in r.drafts if d.defects]
    if r.policy_expected is not None and r.policy != r.policy_expected:
        out.append(f"policy {r.policy or 'none'} (expected {r.policy_expected})")
    if r.category_ok is False:
        out.append("category")
    return out
