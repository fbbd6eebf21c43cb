"""The "no excuses, no blame" checker."""

from __future__ import annotations

import re
from functools import cached_property

from copilot.checking.calibration import Calibration
from copilot.checking.context import NO_CONTEXT, CheckContext
from copilot.checking.learned import ClauseClassifier
from copilot.checking.ledger import Ledger, ledger_breaches, matches_ledger
from copilot.checking.models import (
    MOVES,
    CheckError,
    CheckResult,
    ClauseRole,
    MoveCheck,
    Violation,
    verdict_of,
)
from copilot.checking.policy_check import PolicyBreach, check_amounts, check_deadlines
from copilot.checking.quotes import quoted_customer_spans
from copilot.checking.roles import RoleReader, clause_bounds
from copilot.checking.rules import Rule, RuleCatalogue
from copilot.knowledge.policies import Level, PolicyBook, PolicyCategory
from copilot.text import detect_language, is_blank
from copilot.text.matching import QUOTES, normalise_for_matching
from copilot.text.sentences import sentence_bounds

MAX_CHARS = 20_000
_SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}


class Checker:
    """Checks a reply against the rule catalogue and, when given, a policy and an authority level."""

    def __init__(
        self,
        catalogue: RuleCatalogue,
        policies: PolicyBook | None = None,
        classifier: ClauseClassifier | None = None,
        roles: RoleReader | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.roles = roles
        self.calibration = calibration or Calibration()
        self.classifier = classifier
        self.policies = policies or PolicyBook()
        self._policy_rules = {r.id: r for r in catalogue.rules if r.id.startswith("overpromise.policy_")}
        self._ledger_rules = {r.id: r for r in catalogue.rules if r.id.startswith("ledger.")}
        self._yields = {r.id: set(r.yields_to) for r in catalogue.rules if r.yields_to}

    @cached_property
    def _compiled_rules(self) -> dict[str, list[tuple[Rule, list[re.Pattern[str]], list[re.Pattern[str]]]]]:
        """(rule, patterns, guards) per text kind; Chinese text with Latin letters in it ("zh+latin") also meets
        the English jargon terms."""
        out: dict[str, list] = {"zh": [], "en": [], "zh+latin": []}
        for rule in (r for r in self.catalogue.rules if r.patterns):
            out["en"].append((rule, *rule.compiled("en")))
            out["zh"].append((rule, *rule.compiled("zh")))
            if rule.category == "jargon":
                out["zh+latin"].append((rule, *rule.compiled("en")))
        out["zh+latin"] = out["zh"] + out["zh+latin"]
        return out

    # ------------------------------------------------------------------ public

    def check(self, text: str, language: str | None = None, context: CheckContext = NO_CONTEXT) -> CheckResult:
        """`context`: the complaint (quoting it is not flagged), the level, the policy, and a conversation's ledger,
        against whose promises the text is also held."""
        complaint, level, policy, ledger = context.complaint, context.level, context.policy, context.ledger
        if not isinstance(text, str):
            raise CheckError("the text must be a string")
        if is_blank(text):
            raise CheckError("the text is empty: paste the reply you want checked")
        if len(text) > MAX_CHARS:
            raise CheckError(
                f"the text is {len(text):,} characters; the checker takes up to {MAX_CHARS:,} at a time "
                "(one reply): check the replies one by one"
            )
        notices: list[str] = []
        lang = language or detect_language(text)
        if lang not in ("zh-Hant", "zh-Hans", "en"):
            notices.append("language not recognised: checked with the English rules")
            lang = "en"
        category = self._resolve_policy(policy, notices)
        norm = _normalised(text, lang)
        norm_complaint = normalise_for_matching(complaint) if complaint else None
        sentences = sentence_bounds(norm)
        masked = quoted_customer_spans(norm, norm_complaint)

        clauses = self._clauses(norm, lang, masked)
        violations = self._match_rules(text, norm, lang, sentences, masked)
        if category is not None:
            policy_hits = self._policy_violations(text, norm, lang, sentences, masked, level, category)
            # restating a time already promised is keeping a promise, not making a new one
            violations += [v for v in policy_hits
                           if not (v.rule_id == "overpromise.policy_deadline" and matches_ledger(ledger, text, lang, v.start, v.end))]
        for v in violations:
            v.confidence = self.calibration.rule(v.rule_id)
        if self.classifier is not None:
            violations = self._fuse_learned(text, norm, lang, sentences, clauses, violations)
        if self.roles is not None:
            violations = [v for v in violations if not self.roles.rules_out(clauses, v.category, v.start, v.end)
                          and not self.roles.names_out(norm, lang, v.category, v.start, v.end)]
        moves = self._moves(norm, lang, sentences, masked)
        if ledger is not None:
            violations += self._ledger_violations(text, lang, masked, moves, ledger)
        violations = _apply_yields(_dedupe(violations), sentences, self._yields)
        shown, second_look = self.calibration.split(violations)
        return CheckResult(
            language=lang,
            clauses=clauses,
            verdict=verdict_of(shown),
            violations=shown,
            second_look=second_look,
            moves=moves,
            notices=notices,
        )

    # ---------------------------------------------------------------- internals

    def with_classifier(self, classifier: ClauseClassifier | None) -> Checker:
        """The same rules, roles and calibration over another classifier (one trained without a set, to
        measure on that set)."""
        return Checker(self.catalogue, self.policies, classifier, roles=self.roles, calibration=self.calibration)

    def classifier_only_calls(self, text: str, language: str) -> list[tuple[str, float, int, int]]:
        """(category, probability, start, end) of every finding the classifier raises on its own, shown or
        not: what the `learned_only` bands of the calibration are measured on."""
        result = self.check(text, language)
        found = [v for v in result.violations + result.second_look if v.rule_id.startswith("learned.")]
        calls = self.classifier_calls(text, result.language) if found else []
        return [(v.category, next(p for c, p, s, e in calls if c == v.category and s <= v.start < e), v.start, v.end) for v in found]

    def classifier_calls(self, text: str, language: str) -> list[tuple[str, float, int, int]]:
        """(category, probability, start, end) of every clause the classifier scores as a violation, before
        any rule, guard or calibration: what its calibration is measured on."""
        norm = _normalised(text, language)
        return [(category, p[category], c.start, c.end)
                for c, p in self._scored(norm, language, self._clauses(norm, language, []))
                if (category := max(p, key=p.__getitem__)) != "none"]

    def _clauses(self, norm: str, lang: str, quoted: list[tuple[int, int]]) -> list[ClauseRole]:
        if self.roles is not None:
            return self.roles.clauses(norm, lang, quoted)
        return [ClauseRole(start=s, end=e, role="statement") for s, e in clause_bounds(norm, lang)]

    def _scored(self, norm: str, lang: str, clauses: list[ClauseRole]) -> list[tuple[ClauseRole, dict[str, float]]]:
        """Each clause but a quotation with the classifier's probabilities, in one batch."""
        assert self.classifier is not None
        scored = [c for c in clauses if c.role != "quotation"]
        return list(zip(scored, self.classifier.probabilities([norm[c.start : c.end] for c in scored], lang != "en"), strict=True))

    def _resolve_policy(self, policy: PolicyCategory | str | None, notices: list[str]) -> PolicyCategory | None:
        if policy is None or isinstance(policy, PolicyCategory):
            return policy
        found = self.policies.category(policy)
        if found is None:
            notices.append(f"unknown policy '{policy}': amounts and deadlines were not checked")
        return found

    def _match_rules(
        self, text: str, norm: str, lang: str, sentences: list[tuple[int, int]], masked: list[tuple[int, int]]
    ) -> list[Violation]:
        out: list[Violation] = []
        kind = "en" if lang == "en" else "zh+latin" if _LATIN.search(norm) else "zh"
        for rule, patterns, guards in self._compiled_rules[kind]:
            for pattern in patterns:
                for m in pattern.finditer(norm):
                    start, end = m.span("hit") if "hit" in pattern.groupindex and m.group("hit") else m.span()
                    if start == end or _overlaps(start, end, masked):
                        continue
                    s_start, s_end = _sentence_of(start, sentences, len(norm))
                    sentence = norm[s_start:s_end]
                    if any(g.search(sentence) for g in guards):
                        continue
                    out.append(_violation(rule, lang, text, start, end))
        return out

    def _fuse_learned(
        self, text: str, norm: str, lang: str, sentences: list[tuple[int, int]], clauses: list[ClauseRole],
        found: list[Violation],
    ) -> list[Violation]:
        """The classifier scores every clause in one batch: its probability for a rule finding's category is
        fused into that finding's confidence, and a clause it flags that no rule did becomes a finding."""
        scored = self._scored(norm, lang, clauses)
        for v in found:
            here = next((p for c, p in scored if c.start <= v.start < c.end), None)
            if here is not None and v.category in here:
                v.confidence = self.calibration.fused(v.confidence, here[v.category])
        out = list(found)
        for clause, p in scored:
            category = max(p, key=p.__getitem__)
            if category == "none" or category in self.calibration.learned_only_skip or any(v.category == category and v.start < clause.end and clause.start < v.end for v in found):
                continue
            rule = self.category_rule.get(category)
            start, end = _trimmed(norm, clause.start, clause.end)
            if rule is None or end - start < 4 or self._guarded(category, norm, sentences, clause.start, lang):
                continue
            v = _violation(rule, lang, text, start, end)
            v.rule_id, v.severity = f"learned.{category}", "low"
            v.confidence = self.calibration.learned(p[category])
            out.append(v)
        return out

    def _guarded(self, category: str, norm: str, sentences: list[tuple[int, int]], position: int, lang: str) -> bool:
        """A clause the classifier flags is spared by what spares the rules of its category in that sentence:
        negation ("not your fault", "that's no excuse"), a policy cited to grant, the customer reassured."""
        start, end = _sentence_of(position, sentences, len(norm))
        sentence = norm[start:end]
        return any(g.search(sentence) for g in self._category_guards["zh" if lang != "en" else "en"].get(category, []))

    @cached_property
    def _category_guards(self) -> dict[str, dict[str, list[re.Pattern[str]]]]:
        """The guards of every rule of a category, per text kind."""
        out: dict[str, dict[str, list[re.Pattern[str]]]] = {"zh": {}, "en": {}}
        for key, compiled in self._compiled_rules.items():
            if key not in out:
                continue
            for rule, _, guards in compiled:
                out[key].setdefault(rule.category, []).extend(guards)
        return out

    @cached_property
    def category_rule(self) -> dict[str, Rule]:
        first: dict[str, Rule] = {}
        for rule in self.catalogue.rules:
            if rule.patterns:
                first.setdefault(rule.category, rule)
        return first

    def _policy_violations(
        self,
        text: str,
        norm: str,
        lang: str,
        sentences: list[tuple[int, int]],
        masked: list[tuple[int, int]],
        level: Level,
        category: PolicyCategory,
    ) -> list[Violation]:
        breaches: list[PolicyBreach] = check_amounts(norm, sentences, lang, level, category)
        breaches += check_deadlines(norm, sentences, lang, category)
        out = []
        for breach in breaches:
            if _inside(breach.start, breach.end, masked):
                continue
            rule = self._policy_rules.get(f"overpromise.policy_{breach.kind}")
            if rule is None:
                continue
            v = _violation(rule, lang, text, breach.start, breach.end, breach.detail)
            v.limit = breach.limit_text
            out.append(v)
        return out

    def _ledger_violations(
        self, text: str, lang: str, masked: list[tuple[int, int]], moves: list[MoveCheck], ledger: Ledger
    ) -> list[Violation]:
        apology = next((m for m in moves if m.move == "apologise" and m.present), None)
        span = (apology.start, apology.end) if apology and apology.start is not None and apology.end is not None else None
        out = []
        for breach in ledger_breaches(text, lang, ledger, span):
            rule = self._ledger_rules.get(f"ledger.{breach.kind}")
            if rule is None or _inside(breach.start, breach.end, masked):
                continue
            v = _violation(rule, lang, text, breach.start, breach.end, breach.detail)
            v.limit = breach.limit_text or None
            out.append(v)
        return out

    def _moves(
        self, norm: str, lang: str, sentences: list[tuple[int, int]], masked: list[tuple[int, int]]
    ) -> list[MoveCheck]:
        key = "en" if lang == "en" else "zh"
        found: dict[str, MoveCheck] = {}
        for move_rule in self.catalogue.moves:
            if move_rule.move in found:
                continue
            patterns, guards = move_rule.compiled(key)
            for pattern in patterns:
                m = next(
                    (
                        m
                        for m in pattern.finditer(norm)
                        if not _inside(*m.span(), masked)
                        and not any(g.search(norm[slice(*_sentence_of(m.start(), sentences, len(norm)))]) for g in guards)
                    ),
                    None,
                )
                if m:
                    found[move_rule.move] = MoveCheck(move=move_rule.move, present=True, start=m.start(), end=m.end())
                    break
        return [found.get(move, MoveCheck(move=move, present=False)) for move in MOVES]


def _violation(rule: Rule, lang: str, text: str, start: int, end: int, detail: dict[str, str] | None = None) -> Violation:
    fill = detail or {}
    return Violation(
        rule_id=rule.id,
        category=rule.category,
        severity=rule.severity,
        start=start,
        end=end,
        text=text[start:end],
        name=rule.name[lang],
        explanation=_format(rule.explanation[lang], fill),
        suggestion=_format(rule.fix.suggestion[lang], fill),
    )


_LATIN = re.compile(r"[A-Za-z]")


def _normalised(text: str, lang: str) -> str:
    """The text rules match against: Simplified script for Chinese (offsets kept), ASCII apostrophes."""
    return normalise_for_matching(text) if lang != "en" or re.search(r"[\u4e00-\u9fff]", text) else text.translate(QUOTES)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in "，,；;。！？!?"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "，,；;。！？!?"):
        end -= 1
    return start, end


def _format(template: str, values: dict[str, str]) -> str:
    try:
        return template.format(**values) if values else template
    except (KeyError, IndexError):
        return template


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _sentence_of(pos: int, sentences: list[tuple[int, int]], length: int) -> tuple[int, int]:
    for start, end in sentences:
        if start <= pos < end:
            return start, end
    return 0, length


def _dedupe(violations: list[Violation]) -> list[Violation]:
    """One violation per category per overlapping stretch: the most severe, then the longest."""
    ordered = sorted(violations, key=lambda v: (v.start, -_SEVERITY_RANK[v.severity], -(v.end - v.start)))
    kept: list[Violation] = []
    for v in ordered:
        clash = next((k for k in kept if k.category == v.category and v.start < k.end and k.start < v.end), None)
        if clash is None:
            kept.append(v)
        elif (_SEVERITY_RANK[v.severity], v.end - v.start) > (_SEVERITY_RANK[clash.severity], clash.end - clash.start):
            kept[kept.index(clash)] = v
    return sorted(kept, key=lambda v: (v.start, v.end))


def _apply_yields(
    violations: list[Violation], sentences: list[tuple[int, int]], yields: dict[str, set[str]]
) -> list[Violation]:
    """A rule that yields (e.g. "not our fault") is dropped when the sentence already carries the more
    specific finding (the named department or partner)."""
    if not yields:
        return violations
    kept = []
    for v in violations:
        stronger = yields.get(v.rule_id)
        if stronger:
            here = _sentence_of(v.start, sentences, v.end)
            if any(o is not v and o.category in stronger and _sentence_of(o.start, sentences, o.end) == here for o in violations):
                continue
        kept.append(v)
    return kept


