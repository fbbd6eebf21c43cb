"""`copilot eval calibrate-checker`: measure how often each rule, and the classifier at each probability,
is right on labelled replies, and write it to `knowledge/rules/calibration.yaml`."""

from __future__ import annotations

from pathlib import Path

import yaml

from copilot.checking.calibration import Calibration, measure
from copilot.checking.checker import Checker
from copilot.checking.quality import load_replies


class _Raw(Calibration):
    """Everything comes back, and a classifier-only finding carries its raw probability."""

    def learned(self, probability: float) -> float:
        return round(probability, 3)


def calibrate(checker: Checker, files: list[Path]) -> dict:
    kept = checker.calibration
    checker.calibration = _Raw(**{**kept.model_dump(), "show_at": 0.0})
    findings = []
    try:
        for path in files:
            for item in load_replies(path):
                gold = item.spans()
                result = checker.check(item.reply, item.lang, complaint=item.complaint, level=item.level,  # type: ignore[arg-type]
                                       policy=item.policy)
                for v in result.violations:
                    correct = any(c == v.category and v.start < e and s < v.end for c, s, e in gold)
                    findings.append((v.rule_id, v.confidence, correct))
    finally:
        checker.calibration = kept
    return measure(findings)


def write_calibration(path: Path, measured: dict, sources: list[Path]) -> None:
    """Replace the measured parts of the calibration file, keeping its comments and hand-set values."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    head = text.split("# --- measured", 1)[0].rstrip() + "\n\n"
    head = "\n".join(line for line in head.splitlines() if not line.startswith(("rule_precision:", "learned_only:"))) + "\n"
    body = yaml.safe_dump({"learned_only": [list(pair) for pair in measured["learned_only"]], "rule_precision": measured["rule_precision"]},
                          sort_keys=False, allow_unicode=True, default_flow_style=None)
    note = "# --- measured by `copilot eval calibrate-checker` on: " + ", ".join(str(s) for s in sources) + "\n"
    path.write_text(head + "\n" + note + body, encoding="utf-8")
