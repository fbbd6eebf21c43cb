"""`copilot eval calibrate-checker`: measure how often each rule, and the classifier at each probability,
is right on labelled replies, and write it to `knowledge/rules/calibration.yaml`."""

from __future__ import annotations

from pathlib import Path

import yaml

from copilot.checking.calibration import measure
from copilot.checking.checker import Checker
from copilot.checking.quality import load_replies


def calibrate(checker: Checker, files: list[Path], bands_from: list[Path] | None = None) -> dict:
    """Each rule's precision on every file; the classifier's own precision per probability band on
    `bands_from` (default all), which should be sets the classifier was not trained on: every clause it
    scores as a violation counts, whether or not a rule also found it."""
    bands_from = files if bands_from is None else bands_from
    findings: list[tuple[str, float, bool]] = []
    for path in files:
        for item in load_replies(path):
            gold = item.spans()
            result = checker.check(item.reply, item.lang, complaint=item.complaint, level=item.level,  # type: ignore[arg-type]
                                   policy=item.policy)
            for v in result.violations + result.second_look:
                if not v.rule_id.startswith("learned."):
                    findings.append((v.rule_id, v.confidence, _hit(gold, v.category, v.start, v.end)))
    if checker.classifier is not None:
        for path in bands_from:
            for item in load_replies(path):
                for category, probability, start, end in checker.classifier_calls(item.reply, item.lang):
                    findings.append((f"learned.{category}", probability, _hit(item.spans(), category, start, end)))
    return measure(findings)


def _hit(gold: list[tuple[str, int, int]], category: str, start: int, end: int) -> bool:
    return any(c == category and s < end and start < e for c, s, e in gold)


def write_calibration(path: Path, measured: dict, sources: list[Path], bands_from: list[Path] | None = None) -> None:
    """Replace the measured parts of the calibration file, keeping its comments and hand-set values."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    head = text.split("# --- measured", 1)[0].rstrip() + "\n\n"
    head = "\n".join(line for line in head.splitlines() if not line.startswith(("rule_precision:", "learned_only:"))) + "\n"
    body = yaml.safe_dump({"learned_only": [list(pair) for pair in measured["learned_only"]], "rule_precision": measured["rule_precision"]},
                          sort_keys=False, allow_unicode=True, default_flow_style=None)
    note = "# --- measured by `copilot eval calibrate-checker` on: " + ", ".join(str(s) for s in sources) + "\n"
    if bands_from is not None:
        note += "# learned_only bands from (not in the classifier's training data): " + ", ".join(str(s) for s in bands_from) + "\n"
    path.write_text(head + "\n" + note + body, encoding="utf-8")
