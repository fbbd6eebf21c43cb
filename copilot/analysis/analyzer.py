"""Reading a complaint without an LLM: lexicons (knowledge/analysis/signals.yaml, reading.yaml,
aspects.yaml), patterns, and the classifier over labelled examples for what it is about."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from copilot.analysis.classifier import ComplaintClassifier
from copilot.analysis.models import (
    HARD_TYPES,
    Analysis,
    CategoryMatch,
    CustomerType,
    Evidence,
    Facts,
    NeedFinding,
    SignalFinding,
    Topic,
)
from copilot.analysis.topic import ReadingLexicon
from copilot.knowledge.policies import PolicyBook
from copilot.text import REPLY_LANGUAGES, detect_language
from copilot.text.matching import normalise_for_matching
from copilot.text.numbers import find_amounts, find_durations, to_number

_ORDER_ID = re.compile(
    r"(?:订单|訂單|单号|單號|编号|編號|order|booking|ref(?:erence)?|case|account|帐号|账号|卡号|卡號)"
    r"\s*(?:号|號|no\.?|number|#)?\s*[:：#]?\s*([A-Z]{0,6}[-]?\d[\w-]{3,})"
    r"|#\s?([A-Z]{0,4}-?\d{4,}[\w-]*)|\b([A-Z]{2,5}\d{6,}[\w-]*)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\d{4}\s*[-/年.]\s*\d{1,2}\s*[-/月.]\s*\d{1,2}\s*[日号號]?|\d{1,2}\s*月\s*\d{1,2}\s*[日号號]"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?"
    r"|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
    re.IGNORECASE,
)
_CONTACTS = re.compile(
    r"第\s*([二三四五六七八九十两兩\d]+)\s*次|打了\s*([二三四五六七八九十两兩\d]+)\s*(?:次|通)|"
    r"(second|third|fourth|fifth|sixth|\d+(?:st|nd|rd|th)) time|(?:called|contacted|emailed|rang)[^.]{0,20}?(\w+) times",
    re.IGNORECASE,
)
# words that turn an amount into a demand ("赔我 500", "I want $200 compensation")
_DEMAND = re.compile(
    r"赔|补偿|赔偿|要求|索赔|给我|退我|至少|compensat|want|demand|expect|owe|pay me|reimburse|at least|damages",
    re.IGNORECASE,
)
# Money asked back (a refund of what was paid or overcharged) is owed, not compensation demanded.
_REFUND = re.compile(r"退|返还|refund|money back|charged|扣", re.IGNORECASE)
_COMPENSATION_WORDS = re.compile(r"赔|补偿|compensat|damages|on top", re.IGNORECASE)
_ORDINALS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}


class Analyzer:
    """Reads a complaint. `classifier` decides the policy category and the problem type; `vector_of` gives a
    complaint's embedding when one is at hand (the same query vector retrieval uses), else the classifier
    falls back to lexical neighbours."""

    def __init__(
        self,
        signals_file: Path,
        policies: PolicyBook,
        *,
        classifier: ComplaintClassifier | None = None,
        reading: ReadingLexicon | None = None,
        vector_of: Callable[[str], Sequence[float] | None] | None = None,
    ) -> None:
        data = yaml.safe_load(signals_file.read_text(encoding="utf-8"))
        self._needs = {k: self._compile(v) for k, v in data["needs"].items()}
        self._anger = {k: self._compile(v) for k, v in data["anger"].items()}
        self._escalation = {k: self._compile(v) for k, v in data["escalation"].items()}
        self._types = {k: self._compile(v) for k, v in data["customer_type"].items()}
        self._injection = self._compile(data["injection"])
        self.policies = policies
        self.classifier = classifier
        self.reading = reading
        self._vector_of = vector_of

    @staticmethod
    def _compile(patterns: dict[str, list[str]]) -> dict[str, list[re.Pattern[str]]]:
        return {
            key: [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in patterns.get(key, [])] for key in ("zh", "en")
        }

    # ------------------------------------------------------------------ public

    def analyze(self, complaint: str, contacts_before: int | None = None) -> Analysis:
        language = detect_language(complaint)
        notices = []
        reply_language = REPLY_LANGUAGES.get(language, "en")
        if language == "other":
            notices.append("the complaint is not in Chinese or English: drafts are in English")
        norm = normalise_for_matching(complaint)
        keys = ["zh", "en"] if language in ("zh-Hant", "zh-Hans") else ["en", "zh"]

        def find(patterns: dict[str, list[re.Pattern[str]]]) -> list[Evidence]:
            found = []
            for key in keys:
                for pattern in patterns[key]:
                    for m in pattern.finditer(norm):
                        if m.end() > m.start():
                            found.append(Evidence(start=m.start(), end=m.end(), text=complaint[m.start() : m.end()]))
            return _unique(found)

        needs = [NeedFinding.model_validate({"need": name, "evidence": ev}) for name, pats in self._needs.items() if (ev := find(pats))]
        signals = [SignalFinding.model_validate({"signal": name, "evidence": ev})
                   for name, pats in self._escalation.items() if (ev := find(pats))]
        facts = self._facts(complaint, norm, language, contacts_before)
        if facts.contacts_before and facts.contacts_before >= 2 and "repeat_contact" not in [s.signal for s in signals]:
            signals.append(SignalFinding(signal="repeat_contact", evidence=[]))
        strong, mild = find(self._anger["strong"]), find(self._anger["mild"])
        anger_score = 2 * len(strong) + len(mild)
        anger_score += len(re.findall(r"[!！]{2,}|[?？]{3,}", complaint))
        anger_score += min(2, len(re.findall(r"\b[A-Z]{4,}\b", complaint)) // 2)
        anger_score += sum(s.signal in ("regulator", "media", "lawsuit", "manager") for s in signals)
        if facts.contacts_before and facts.contacts_before >= 2:
            anger_score += 1
        anger = 0 if anger_score == 0 else 1 if anger_score <= 2 else 2 if anger_score <= 4 else 3
        if anger >= 2 and "vent" not in [n.need for n in needs]:
            needs.append(NeedFinding(need="vent", evidence=strong[:2] or mild[:2]))
        types = {name: find(pats) for name, pats in self._types.items()}
        customer_type: CustomerType
        if types["unreasonable"]:
            customer_type = "unreasonable"
        elif anger >= 2:
            customer_type = "emotional"
        else:
            customer_type = "rational" if types["rational"] or anger <= 1 else "emotional"
        hard = [(len(types[t]), t) for t in ("fox", "snake", "hedgehog") if types[t]]
        hard_type = HARD_TYPES[max(hard)[1]] if hard else None
        analysis = Analysis(
            language=language,
            reply_language=reply_language,
            needs=sorted(needs, key=lambda n: ("fast_fix", "respect", "compensation", "vent").index(n.need)),
            anger=anger,
            anger_evidence=(strong + mild)[:6],
            customer_type=customer_type,
            hard_type=hard_type,
            escalation=signals,
            facts=facts,
            injection=find(self._injection),
            notices=notices,
        )
        self._read_problem(complaint, analysis)
        return analysis

    def _read_problem(self, complaint: str, analysis: Analysis) -> None:
        """What it is about: the policy category (or none), the problem type, the topic, the asks."""
        reading = self.reading
        if reading is not None:
            analysis.contentless = reading.is_contentless(complaint)
            if analysis.contentless:
                return  # nothing to classify: "在吗", an emoji, a link
            analysis.asks = reading.asks_in(complaint, analysis.language in ("zh-Hant", "zh-Hans"))
            analysis.questions = reading.questions_in(complaint, analysis.language)
            analysis.praises = reading.praises(complaint, analysis.language)
            analysis.vulnerable = reading.mentions_vulnerable(complaint, analysis.language)
            analysis.facts.signed_as = reading.signed_name(complaint, analysis.language)
            analysis.topic = self._topic(complaint, analysis.language, analysis.reply_language)
        if self.classifier is None:
            return
        vector = self._vector_of(complaint) if self._vector_of is not None else None
        result = self.classifier.classify(complaint, vector)
        aspects = analysis.topic.aspects if analysis.topic is not None else []
        analysis.problem_type = result.problem_type if reading is None else \
            reading.problem_type_for(result.problem_type, complaint, analysis.language, aspects)
        analysis.problem_confidence = result.problem_confidence
        analysis.category_confidence = result.confidence
        if result.category is not None:
            category = self.policies.category(result.category)
            if category is not None:
                lang = analysis.reply_language if analysis.reply_language in category.names else "en"
                analysis.category = CategoryMatch(domain=category.domain, category=category.id, name=category.names[lang],
                                                  score=result.confidence, matched=[f"examples ({result.method})", "evidence"])

    def set_reply_language(self, analysis: Analysis, reply_language: str, complaint: str) -> None:
        """The reply's language was settled after reading (the CRM's choice, an ambiguous script): name the
        topic in it."""
        analysis.reply_language = REPLY_LANGUAGES.get(reply_language, "en")
        if analysis.topic is not None:
            analysis.topic = self._topic(complaint, analysis.language, reply_language) or analysis.topic

    def _topic(self, complaint: str, language: str, reply_language: str) -> Topic | None:
        """The problem in the customer's terms, in the reply's language (None without a reading lexicon)."""
        topic = self.reading.topic_of(complaint, language, reply_language) if self.reading is not None else None
        if topic is None:
            return None
        return Topic(phrase=topic.phrase, form=topic.form, aspects=list(topic.aspects), fallback=topic.fallback,
                     statement=topic.statement, start=topic.start, end=topic.end)

    def injection_in(self, text: str) -> bool:
        """Whether a text (a retrieved passage, say) carries instructions aimed at the model."""
        norm = normalise_for_matching(text)
        return any(p.search(norm) for key in ("zh", "en") for p in self._injection[key])

    # ---------------------------------------------------------------- internals

    def _facts(self, complaint: str, norm: str, language: str, contacts_before: int | None) -> Facts:
        order_ids = []
        for m in _ORDER_ID.finditer(complaint):
            value = next(g for g in m.groups() if g)
            if sum(c.isdigit() for c in value) >= 4 and value not in order_ids:
                order_ids.append(value)
        found = find_amounts(norm)
        amounts = [a.value for a in found]
        demanded = []
        for a in found:
            window = norm[max(0, a.start - 25) : a.end + 12]
            if _DEMAND.search(window) and not (_REFUND.search(window) and not _COMPENSATION_WORDS.search(window)):
                demanded.append(a.value)
        dates = [m.group(0) for m in _DATE.finditer(complaint)]
        durations = [d.text for d in find_durations(norm, "en" if language == "en" else "zh-Hans") if not d.immediate and d.hours >= 1]
        contacts = contacts_before
        for m in _CONTACTS.finditer(norm):
            raw = next(g for g in m.groups() if g)
            n = _ORDINALS.get(raw.lower()) or to_number(re.sub(r"(st|nd|rd|th)$", "", raw.lower()))
            if n:
                # "the third time I call" means two contacts before this one
                earlier = int(n) - 1 if m.group(1) or m.group(3) else int(n)
                contacts = max(contacts or 0, earlier)
        return Facts(order_ids=order_ids, amounts=amounts, demanded=demanded, dates=dates, durations=durations, contacts_before=contacts)


def _unique(found: list[Evidence]) -> list[Evidence]:
    out: list[Evidence] = []
    for e in sorted(found, key=lambda e: (e.start, -(e.end - e.start))):
        if not any(o.start <= e.start and e.end <= o.end for o in out):
            out.append(e)
    return out
