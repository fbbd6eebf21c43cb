"""`copilot eval calibrate-checker`: measure how often each rule, and the classifier at each probability,
is right on labelled replies, and write it to `knowledge/rules/calibration.yaml`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from copilot.checking.calibration import measure
from copilot.checking.checker import Checker
from copilot.checking.learned import ClauseClassifier, Example
from copilot.checking.quality import load_replies


def calibrate(checker: Checker, files: list[Path], bands_from: list[Path] | None = None,
              held_out: Callable[[Path], Checker] | None = None) -> dict:
    """Each rule's precision on every file, and the precision of the findings the classifier raises on its
    own per probability band on `bands_from` (default all). A band is only honest on replies the classifier
    was not trained on: with `held_out`, each set is checked by the checker it returns for that set (one whose
    classifier never saw it)."""
    bands_from = files if bands_from is None else bands_from
    findings: list[tuple[str, float, bool]] = []
    for path in files:
        for item in load_replies(path):
            gold = item.spans()
            result = checker.check(item.reply, item.lang, item.context)
            for v in result.violations + result.second_look:
                if not v.rule_id.startswith("learned."):
                    findings.append((v.rule_id, v.confidence, _hit(gold, v.category, v.start, v.end)))
    if checker.classifier is not None:
        for path in bands_from:
            judge = held_out(path) if held_out is not None else checker
            for item in load_replies(path):
                for category, probability, start, end in judge.classifier_only_calls(item.reply, item.lang):
                    findings.append((f"learned.{category}", probability, _hit(item.spans(), category, start, end)))
    return measure(findings)


def example_files_without(examples: Path, reply_set: Path) -> list[Path]:
    """The example files of `examples` but those drawn from `reply_set` (whose lines name its replies in `from`)."""
    ids = {item.id for item in load_replies(reply_set)}
    return [f for f in sorted(examples.glob("*.jsonl")) if not _drawn_from(f, ids)]


def held_out_checkers(checker: Checker, examples: Path, compliant: list[Example], cache: Path | None) -> Callable[[Path], Checker]:
    """For each reply set, the checker over a classifier trained on every example file not drawn from it."""
    def for_set(reply_set: Path) -> Checker:
        keep = example_files_without(examples, reply_set)
        if len(keep) == len(list(examples.glob("*.jsonl"))):  # nothing drawn from it: the classifier never saw it
            return checker
        return checker.with_classifier(ClauseClassifier.from_files(keep, cache, compliant))
    return for_set


def _drawn_from(path: Path, ids: set[str]) -> bool:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line).get("from") in ids:
            return True
    return False


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
        note += "# learned_only bands from (each checked by a classifier never trained on it): " + ", ".join(str(s) for s in bands_from) + "\n"
    path.write_text(head + "\n" + note + body, encoding="utf-8")
