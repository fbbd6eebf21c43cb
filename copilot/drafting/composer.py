"""The composer: deterministic drafts from the analysis, the reply book (`knowledge/drafting/`), the policy
when one applies, and the phrasebook for a conversation already under way.

It is the embedded default (no LLM configured) and the fallback when the LLM fails, so what it writes must
be sendable as it is:

- it names the customer's actual problem in their terms (the analysis' topic), never a category label;
- it asserts nothing the complaint, the CRM, the conversation's ledger or the policy does not say: no
  invented waiting or repeat contact, no cause admitted before anyone checked, no money or time frame
  without a policy, no refusal of something nobody asked for;
- without a policy it asks for the one or two things needed to act, through the right channel, or says
  what will be checked; with one it gives the policy's remedy and one time frame;
- it writes for the channel: one public post that moves details to a private message (social), two to
  four sentences (chat), a greeting, paragraphs and a sign-off (email), something to say aloud (phone);
- no sentence twice, one time frame per reply, openings that differ across the three drafts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from copilot.analysis.models import Analysis
from copilot.checking.ledger import Ledger
from copilot.drafting.models import DRAFT_KINDS, DraftKind, DraftRequest
from copilot.drafting.replybook import ReplyBook, slots_of
from copilot.knowledge.phrasebook import Phrasebook
from copilot.knowledge.phrasebook import slots_of as phrase_slots_of
from copilot.knowledge.policies import LEVELS, Level, PolicyCategory
from copilot.text.numbers import find_durations
from copilot.text.script import convert_script
from copilot.text.times import describe_due

COMPENSATION_LABEL = {
    "voucher": {"zh-Hant": "購物金", "zh-Hans": "购物金", "en": "voucher"},
    "bill_credit": {"zh-Hant": "帳單折抵", "zh-Hans": "账单抵扣", "en": "bill credit"},
    "refund": {"zh-Hant": "退款補償", "zh-Hans": "退款补偿", "en": "goodwill refund"},
    "fee_waiver": {"zh-Hant": "費用減免", "zh-Hans": "费用减免", "en": "fee waiver"},
    "points": {"zh-Hant": "積分", "zh-Hans": "积分", "en": "points"},
    "cash": {"zh-Hant": "現金補償", "zh-Hans": "现金补偿", "en": "cash compensation"},
}
APPROVER = {
    "supervisor": {"zh-Hant": "主管", "zh-Hans": "主管", "en": "my supervisor"},
    "manager": {"zh-Hant": "經理", "zh-Hans": "经理", "en": "our manager"},
}
# what the customer asked for, as the reply names it
ASKED = {
    "refund": {"zh-Hans": "退款", "zh-Hant": "退款", "en": "a refund"},
    "replacement": {"zh-Hans": "换货", "zh-Hant": "換貨", "en": "a replacement"},
    "compensation": {"zh-Hans": "补偿", "zh-Hant": "補償", "en": "compensation"},
    "delete_record": {"zh-Hans": "删除这条记录", "zh-Hant": "刪除這筆紀錄", "en": "removing the record"},
}
GENERIC_ISSUE = {"zh-Hant": "這次的情況", "zh-Hans": "这次的情况", "en": "this"}
# Policy text is written about "the customer"; a reply speaks to them.
_TO_SECOND_PERSON = {
    "zh-Hant": [("客戶的", "您的"), ("客戶", "您")],
    "zh-Hans": [("客户的", "您的"), ("客户", "您")],
    "en": [("the customer's", "your"), ("The customer's", "Your"), ("the customer", "you"), ("The customer", "You"),
           ("they are", "you are"), ("they", "you"), ("their", "your")],
}
SOCIAL_LIMIT = {"zh-Hant": 140, "zh-Hans": 140, "en": 280}
_full_stops = re.compile(r"[。！？!?]+|(?<=[a-z0-9)])\.(?:\s|$)")  # how a reader counts sentences
CHAT_SENTENCES = 4
_ENDS_AS_ISSUE = re.compile(r"(问题|問題|情况|情況|事)$")
_ISSUE_MARKERS = {"zh-Hans": "的问题", "zh-Hant": "的問題"}
_LIST_MARKERS = {"zh-Hans": ("这两个问题", "这几个问题"), "zh-Hant": ("這兩個問題", "這幾個問題")}


def _issue_marker(phrase: str, lang: str, listed: bool) -> str:
    """What follows a named problem so it reads as one: "的问题", or "这两个问题" after a list of aspects."""
    count = phrase.count("、") + 1 if listed else 1
    if count == 1:
        return _ISSUE_MARKERS[lang]
    return _LIST_MARKERS[lang][0 if count == 2 else 1]


_ORDER_PROBLEMS = frozenset({"delivery", "refund_return", "product_quality", "billing", "booking"})
_ORDER_WORD = {"zh-Hans": "订单", "zh-Hant": "訂單"}


def _with_order(phrase: str, analysis: Analysis, lang: str) -> str:
    """The problem named with the order the customer quoted ("订单 A-1 还没到"): the agent has the case in
    hand. English phrases stay as they are (they read as clauses)."""
    order = analysis.facts.order_ids[0] if analysis.facts.order_ids else None
    if lang == "en" or order is None or analysis.problem_type not in _ORDER_PROBLEMS or order in phrase:
        return phrase
    return f"{_ORDER_WORD[lang]} {order} {phrase}"


_EN_STOP = frozenset(
    ["a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "at", "by", "from", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "my", "our", "your", "i", "you", "we", "they", "me", "us", "them", "do", "does", "did", "have", "has", "had", "not", "no", "can", "could", "would", "should", "will", "as", "if", "so", "but", "just", "get", "got"]
)


def _units(text: str, lang: str) -> set[str]:
    """What a request and a complaint are compared by: character bigrams in Chinese, content-word stems in English."""
    if lang == "en":
        return {w[:5] for w in re.findall(r"[a-z]+", text.lower()) if w not in _EN_STOP and len(w) > 2}
    text = re.sub(r"[^\u3400-\u9fff]", "", convert_script(text, "zh-Hans"))
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _has_time_frame(text: str, lang: str, complaint: str) -> bool:
    """Whether `text` gives a time frame of its own (the customer's "five days" said back is theirs)."""
    scan = text if lang == "en" else convert_script(text, "zh-Hans")
    theirs = complaint if lang == "en" else convert_script(complaint, "zh-Hans")
    return any(not d.immediate and d.text not in theirs for d in find_durations(scan, "en" if lang == "en" else "zh-Hans"))


def _restate_amount(remedy: str, amount: float | None) -> str:
    """The remedy phrase with the amount already offered in place of the limit."""
    if amount is None:
        return remedy
    return re.sub(r"\d+(?:\.\d+)?", f"{amount:g}", remedy, count=1)


@dataclass
class Part:
    """A sentence of a draft and how much it can be spared when the channel is short of room."""

    text: str
    keep: int  # 3 never dropped, 2 dropped last, 1 dropped first
    paragraph: int = 1  # email: which paragraph it belongs to (0 greeting, 9 sign-off)
    asks: bool = False  # it asks the customer for details (said once per draft)


@dataclass(frozen=True)
class _Case:
    check: dict[str, str]
    team: dict[str, str]
    topic: dict[str, str] | None = None  # a policy's situation named
    experience: dict[str, str] | None = None  # where it happened, named ("这次入住")


@dataclass
class _Draft:
    lang: str
    channel: str
    seed: int
    complaint: str = ""
    parts: list[Part] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    promised: bool = False  # the draft already says when the customer will hear back
    timed: bool = False  # the draft already gives a time frame


class Composer:
    def __init__(self, replies: ReplyBook, phrasebook: Phrasebook, is_clean: Callable[[str, str], bool] | None = None) -> None:
        self.replies = replies
        self.phrasebook = phrasebook
        # a sentence the checker would flag is never offered (a topic clause can carry the customer's words)
        self.is_clean = is_clean

    # ------------------------------------------------------------------ slots

    def issue(self, analysis: Analysis, lang: str) -> str:
        """The problem as a phrase that reads after "关于" / "sorry about": the topic, or a generic phrase."""
        return (self._issues(analysis, lang) or [GENERIC_ISSUE[lang]])[0]

    @staticmethod
    def _issues(analysis: Analysis, lang: str) -> list[str]:
        """The ways to name the problem, best first: the topic, then the aspects it raises. An order the
        customer quoted is named with it ("订单 A-1 还没到的问题"): it shows the agent has the case in hand."""
        topic = analysis.topic
        if topic is None:
            return []
        phrases = [topic.phrase] if not (lang == "en" and topic.form == "clause") else []
        phrases += [topic.fallback] if topic.fallback else []
        if lang != "en":
            phrases = [p if _ENDS_AS_ISSUE.search(p) else p + _issue_marker(p, lang, topic.form == "aspects" or p != topic.phrase)
                       for p in (_with_order(p, analysis, lang) for p in phrases)]
        return phrases

    def slots(self, analysis: Analysis, category: PolicyCategory | None, lang: str) -> dict[str, str]:
        """Slots for phrasebook moves (conversation replies, the brief's opening line, the fixer)."""
        deadline = {"zh-Hant": "24 小時內", "zh-Hans": "24 小时内", "en": "within 24 hours"}[lang]
        if category is not None:
            frame = category.time_frames.get("callback") or category.time_frames.get("first_update")
            if frame is not None:
                deadline = frame.describe(lang)
        action = {"zh-Hant": "親自追蹤處理這件事", "zh-Hans": "亲自跟进处理这件事", "en": "follow this up myself"}[lang]
        return {"issue": self.issue(analysis, lang), "deadline": deadline, "action": action}

    # ------------------------------------------------------------------ drafts

    def compose(self, kind: DraftKind, request: DraftRequest) -> str:
        """One draft. In a conversation already under way (the ledger has agent turns) the reply continues
        it: it answers the mood, keeps the promises made, and says the time once."""
        ledger = request.ledger
        if ledger is not None and ledger.agent_turns:
            return self._continuing(kind, request, ledger)
        lang = request.analysis.reply_language
        channel = request.channel
        seed = int(hashlib.sha1(f"{request.complaint}".encode()).hexdigest(), 16)
        draft = _Draft(lang=lang, channel=channel, seed=seed + DRAFT_KINDS.index(kind), complaint=request.complaint)
        a = request.analysis
        if a.contentless:
            self._say(draft, "contentless", {}, keep=3)
            return self._render(draft)
        name = request.analysis.facts.signed_as
        if not (name and self._say(draft, "greeting_named", {"name": convert_script(name, lang) if lang != "en" else name}, keep=3, paragraph=0)):
            self._say(draft, "greeting", {}, keep=3, paragraph=0)
        if kind == "empathetic_reply":
            self._empathetic(draft, request)
        elif kind == "expectation_lowering":
            self._expectations(draft, request)
        else:
            self._compensation(draft, request)
        self._close(draft, request)
        return self._render(draft)

    # the three drafts ---------------------------------------------------------------

    def _empathetic(self, d: _Draft, r: DraftRequest) -> None:
        a = r.analysis
        if self._question_only(r):
            # a question about something that went wrong ("I cracked my screen; am I covered?") is sorry first
            if not self._acknowledge(d, r, brief=True, specific=True):
                self._say(d, "thank_question", {}, keep=2)
            self._say(d, "question_answer", {}, keep=3, paragraph=2)
            self._ask(d, r, keep=2, move="ask_only")
            return
        self._acknowledge(d, r)
        if a.anger >= 2:
            feeling = self.replies.feeling(a.topic.aspects if a.topic else [], d.lang)
            self._say(d, "feeling", {"feeling": feeling}, keep=1)
        if (a.facts.contacts_before or 0) >= 2:  # said only when the customer or the CRM says so
            self._say(d, "repeat_contact", {}, keep=1)
        if {"media", "regulator", "lawsuit"} & set(a.signal_names):
            self._say(d, "serious", {}, keep=1)
        if a.vulnerable:
            self._say(d, "vulnerable", {}, keep=2)
        if a.praises:
            self._say(d, "thank_praise", {}, keep=1)
        self._next_step(d, r)
        self._note_questions(d, r)
        if "manager" in a.signal_names and r.level == "agent":
            self._say(d, "manager", {}, keep=1, paragraph=2)
        if r.category is None and d.channel != "social" and not self._feedback_only(r) and not d.promised:
            self._say(d, "follow_up", {}, keep=1, paragraph=2)

    def _expectations(self, d: _Draft, r: DraftRequest) -> None:
        self._acknowledge(d, r, brief=True)
        category = r.category
        if category is not None:
            found = self._cannot_grant(r)
            refused = False
            if found is not None:
                request, reason, alternative = found
                if d.channel == "social":  # the reason and the alternative do not fit one post: said in private
                    refused = self._say(d, "cannot_grant_brief", {"request": request}, keep=3, paragraph=2)
                elif self._say(d, "cannot_grant", {"request": request, "reason": reason, "alternative": alternative}, keep=3, paragraph=2):
                    refused = self._say(d, "alternative_offer", {}, keep=3, paragraph=2)
            if not refused:
                # "sorted within" only from a resolution time; a call-back time is when they hear from us
                frames = category.time_frames
                resolution, update = frames.get("resolution"), frames.get("callback") or frames.get("first_update")
                said = (resolution is not None and self._say(d, "policy_expect", {"deadline": resolution.describe(d.lang)}, keep=3, paragraph=2)) \
                    or (update is not None and self._say(d, "policy_expect_update", {"deadline": update.describe(d.lang)}, keep=3, paragraph=2))
                if not said:
                    self._say(d, "expect_plain", {"check": self._problem(r).check[d.lang]}, keep=3, paragraph=2)
            self._ask(d, r, keep=2)
            return
        if self._question_only(r):
            self._say(d, "question_answer", {}, keep=3, paragraph=2)
            return
        if self._feedback_only(r):
            self._say(d, "expect_feedback", {"team": self._problem(r).team[d.lang]}, keep=3, paragraph=2)
            self._say(d, "feedback_invite", {}, keep=2, paragraph=2)
            return
        check = self._problem(r).check[d.lang]
        self._say(d, "expect_cause", {"check": check}, keep=3, paragraph=2)
        self._note_questions(d, r)
        asked = [x for x in ("refund", "replacement", "compensation", "delete_record") if x in r.analysis.asks]
        if asked:
            self._say(d, "expect_ask", {"ask": ASKED[asked[0]][d.lang]}, keep=2, paragraph=2)
        elif "when" in r.analysis.asks:
            self._say(d, "expect_when", {}, keep=2, paragraph=2)
        self._ask(d, r, keep=2)

    def _compensation(self, d: _Draft, r: DraftRequest) -> None:
        self._acknowledge(d, r, brief=True)
        category = r.category
        if category is None:
            if self._question_only(r):
                self._say(d, "question_answer", {}, keep=3, paragraph=2)
                self._say(d, "comp_question", {}, keep=2, paragraph=2)
                return
            if self._feedback_only(r):
                self._say(d, "comp_feedback", {}, keep=3, paragraph=2)
                return
            self._say(d, "comp_open", {"check": self._problem(r).check[d.lang]}, keep=3, paragraph=2)
            self._ask(d, r, keep=2)
            return
        a = r.analysis
        if d.channel != "social":
            remedy = self._second_person(category.remedy.get(d.lang) or convert_script(category.remedy["zh-Hant"], d.lang), d.lang)
            remedy = remedy.rstrip("。.")
            if d.lang == "en":
                remedy = remedy[:1].lower() + remedy[1:]
            self._say(d, "entitlement", {"remedy": remedy}, keep=2, paragraph=2)
        limit = category.limit(r.level)
        label = COMPENSATION_LABEL.get(category.compensation.type, COMPENSATION_LABEL["voucher"])[d.lang]
        asked = max(a.facts.demanded, default=0.0)
        warranted = a.anger >= 2 or (a.facts.contacts_before or 0) >= 1 or "compensation" in a.asks or asked > 0
        if limit > 0 and warranted:
            self._say(d, "goodwill", {"amount_remedy": self._remedy(limit, label, d.lang)}, keep=3, paragraph=2)
            if asked <= limit:
                self._say(d, "goodwill_arranged", {}, keep=2, paragraph=2)
        if asked > limit and r.level != "manager":
            higher = next((lvl for lvl in LEVELS[LEVELS.index(r.level) + 1 :] if asked <= category.limit(lvl)), "manager")
            frame = category.time_frames.get("callback") or category.time_frames.get("first_update")
            fill = {"asked": self._remedy(asked, label, d.lang).removeprefix("a "), "approver": APPROVER[higher][d.lang]}
            if frame is not None:
                fill["deadline"] = frame.describe(d.lang)
            self._say(d, "approval", fill, keep=3, paragraph=2)
        elif not (limit > 0 and warranted):
            self._say(d, "comp_open", {"check": self._problem(r).check[d.lang]}, keep=3, paragraph=2)

    # building blocks -----------------------------------------------------------------

    def _acknowledge(self, d: _Draft, r: DraftRequest, brief: bool = False, specific: bool = False) -> bool:
        """Name the problem and say sorry; with `specific`, only if the problem can be named."""
        a = r.analysis
        tier = "upset" if a.anger >= 2 else "calm"
        topic = a.topic
        if self._feedback_only(r) and not brief and a.anger < 2:
            self._say(d, "thank_feedback", {}, keep=1)
        short = d.channel == "social"  # a public post has no room for a long restatement
        if (topic is not None and d.lang == "en" and topic.form == "clause" and not (short and len(topic.phrase) > 90)
                and self._say(d, f"ack_clause_{tier}", {"clause": topic.phrase}, keep=3)):
            return True
        statement = _with_order(topic.statement, a, d.lang) if topic is not None and topic.statement else None
        if (statement and not (short and len(statement) > (120 if d.lang == "en" else 40))
                and self._say(d, f"ack_points_{tier}", {"points": statement}, keep=3)):
            return True
        issues = [i for i in self._issues(a, d.lang) if not short or len(i) <= (90 if d.lang == "en" else 34)]
        named = self._problem(r).topic
        if named is not None:  # the policy's situation, in words a person would use
            issues.append(named[d.lang] if d.lang == "en" or _ENDS_AS_ISSUE.search(named[d.lang]) else named[d.lang] + _ISSUE_MARKERS[d.lang])
        for issue in issues:
            if self._say(d, f"ack_{tier}", {"issue": issue}, keep=3):
                return True
        experience = self._problem(r).experience
        if not specific and experience is not None and self._say(d, f"ack_experience_{tier}", {"experience": experience[d.lang]}, keep=3):
            return True
        return not specific and self._say(d, f"ack_generic_{tier}", {}, keep=3)

    def _next_step(self, d: _Draft, r: DraftRequest) -> None:
        category = r.category
        check = self._problem(r).check[d.lang]
        if category is not None:
            frame = category.time_frames.get("callback") or category.time_frames.get("first_update")
            deadline = self._promised_deadline(r.ledger, d.lang) or (frame.describe(d.lang) if frame is not None else None)
            if deadline and d.channel != "social":
                if not self._say(d, "policy_next", {"check": check, "deadline": deadline}, keep=3, paragraph=2):
                    self._say(d, "policy_next_untimed", {"check": check}, keep=3, paragraph=2)
                self._ask(d, r, keep=2, move="ask_only")
                return
        if self._feedback_only(r):
            self._say(d, "feedback", {"team": self._problem(r).team[d.lang]}, keep=2, paragraph=2)
            self._say(d, "feedback_invite", {}, keep=2, paragraph=2)
            return
        if not self._ask(d, r, keep=3):
            self._say(d, "will_check", {"check": check}, keep=3, paragraph=2)
            d.promised = True  # will_check already says the customer will hear back

    def _note_questions(self, d: _Draft, r: DraftRequest) -> None:
        """Questions the customer put are answered when the facts are in, and the reply says so."""
        questions = r.analysis.questions
        if questions and not self._question_only(r):
            many = len(questions) > 1
            self._say(d, "questions_noted", {"questions": "questions" if many else "question", "are": "are" if many else "is"},
                      keep=2, paragraph=2)

    def _ask(self, d: _Draft, r: DraftRequest, keep: int, move: str = "ask") -> bool:
        if any(p.asks for p in d.parts):
            return True
        if move == "ask" and self._problem(r).check[d.lang] in "".join(p.text for p in d.parts):
            move = "ask_only"  # what will be checked was said already: do not promise it twice
        details = self.replies.details_to_ask(r.analysis.problem_type, r.complaint, r.category.key if r.category else None,
                                              most=1 if d.channel == "social" else 2, channel=d.channel)
        if not details:
            return False
        names = [self.replies.detail_name(x, d.lang) for x in details]
        if len(names) == 1:
            joined = names[0]
        elif d.lang == "en":
            joined = f"{names[0]} and {names[1]}"
        else:
            joined = f"{names[0]}{'、' if any('和' in n for n in names) else '和'}{names[1]}"
        said = self._say(d, move, {"details": joined, "check": self._problem(r).check[d.lang]}, keep=keep, paragraph=2)
        if said:
            d.parts[-1].asks = True
        return said

    def _close(self, d: _Draft, r: DraftRequest) -> None:
        if d.channel == "email":
            self._say(d, "closing", {}, keep=1, paragraph=3)
            self._say(d, "sign_off", {}, keep=3, paragraph=9)
        elif d.channel == "phone":
            self._say(d, "closing", {}, keep=1, paragraph=3)

    def _say(self, d: _Draft, move: str, fill: dict[str, str], keep: int, paragraph: int = 1) -> bool:
        """Add a sentence of `move` whose slots can all be filled, chosen by seed, not said before. A draft
        gives one time frame: once it has one, a sentence that would add another is said without it."""
        if d.timed and "deadline" in fill:
            fill = {k: v for k, v in fill.items() if k != "deadline"}
        options = [s for s in self.replies.sentences(d.lang, move, d.channel) if slots_of(s) <= {k for k, v in fill.items() if v}]
        if not options:
            return False
        for offset in range(len(options)):
            sentence = options[(d.seed + offset) % len(options)]
            text = sentence.format(**{k: fill[k] for k in slots_of(sentence)})
            if d.lang == "en" and text[:1].islower():
                text = text[:1].upper() + text[1:]
            if text in d.used or (self.is_clean is not None and text.strip() and not self.is_clean(text, d.lang)):
                continue
            d.used.add(text)
            d.parts.append(Part(text=text, keep=keep, paragraph=paragraph))
            d.timed = d.timed or _has_time_frame(text, d.lang, d.complaint)
            return True
        return False

    # rendering --------------------------------------------------------------------------

    def _render(self, d: _Draft) -> str:
        parts = [p for p in d.parts if p.text.strip() or p.paragraph == 0]
        parts = self._fit(parts, d)
        if d.channel == "email":
            return self._email(parts, d.lang)
        text = "".join(p.text for p in parts) if d.lang != "en" else self._join_en(parts)
        return text.strip()

    @staticmethod
    def _join_en(parts: list[Part]) -> str:
        out = ""
        for p in parts:
            text = p.text
            if out.endswith(", ") and re.match(r"(?:Sorry|Thanks|Thank)\b", text):
                text = text[:1].lower() + text[1:]  # "Hi, sorry to hear ..."
            out += text if not out or out.endswith(" ") else " " + text
        return out

    def _email(self, parts: list[Part], lang: str) -> str:
        paragraphs: dict[int, list[str]] = {}
        for p in parts:
            paragraphs.setdefault(p.paragraph, []).append(p.text)
        joiner = " " if lang == "en" else ""
        blocks = [joiner.join(paragraphs[k]).strip() for k in sorted(paragraphs)]
        if lang == "en" and 9 in paragraphs:
            blocks[-1] = "Kind regards,\n" + blocks[-1]
        return "\n\n".join(b for b in blocks if b)

    def _fit(self, parts: list[Part], d: _Draft) -> list[Part]:
        """Drop the most expendable sentences until the draft fits its channel."""
        def too_long(ps: list[Part]) -> bool:
            if d.channel == "social":
                text = "".join(p.text for p in ps) if d.lang != "en" else self._join_en(ps)
                return len(text) > SOCIAL_LIMIT[d.lang]
            if d.channel == "chat":
                return sum(len(_full_stops.findall(p.text)) or 1 for p in ps if p.paragraph not in (0, 9)) > CHAT_SENTENCES
            return False

        parts = list(parts)
        for level in (1, 2):
            while too_long(parts) and any(p.keep == level for p in parts):
                drop = max(i for i, p in enumerate(parts) if p.keep == level)
                parts.pop(drop)
        return parts

    # reading the request ------------------------------------------------------------------

    def _problem(self, r: DraftRequest) -> _Case:
        """What this reply checks, who feedback goes to, how the experience is named: from the policy category
        when one applies, else from where it happened (a hotel, a meal, an order), else from the kind of problem."""
        a = r.analysis
        key = r.category.key if r.category else None
        spec = self.replies.problem(a.problem_type, key)
        context = None if key else self.replies.context_of(r.complaint, a.problem_type)
        check = spec.check
        if context is not None and context.check:
            check = context.check
        elif key is None and a.problem_confidence < 0.4:  # an uncertain guess at the kind of problem checks nothing specific
            check = self.replies.problem("other").check
        team = context.team if context is not None and context.team else spec.team
        experience = context.experience if context is not None else None
        return _Case(check=check, team=team, topic=spec.topic, experience=experience)

    @staticmethod
    def _question_only(r: DraftRequest) -> bool:
        """A calm question: it wants an answer, not an apology for a fault."""
        a = r.analysis
        wants = {"refund", "replacement", "compensation", "repair", "cancel", "delete_record"}
        # a question about a problem the customer is living through ("停电了，什么时候恢复？") is not one
        living = a.topic is not None and a.topic.form == "aspects" and a.problem_type != "information_request"
        return (a.anger == 0 and r.category is None and not (wants & set(a.asks)) and not living
                and ("question" in a.asks or a.problem_type == "information_request"))

    @staticmethod
    def _feedback_only(r: DraftRequest) -> bool:
        """A public review that asks for nothing: thank, apologise, pass it on, offer to follow up."""
        a = r.analysis
        actionable = {"refund", "replacement", "compensation", "repair", "cancel", "when", "delete_record", "stop_contact"}
        return (r.channel == "social" and r.category is None and not (actionable & set(a.asks))
                and a.problem_type in ("product_quality", "service_attitude", "hygiene_safety", "wait_time", "other", "billing",
                                       "booking", None))

    def _cannot_grant(self, r: DraftRequest) -> tuple[str, str, str] | None:
        """(request, reason, alternative) when the customer asks for something the policy cannot grant."""
        category, lang = r.category, r.analysis.reply_language
        if category is None or not category.cannot_grant or not r.analysis.asks:
            return None
        words = _units(r.complaint, lang)
        best, score = None, 0.0
        for item in category.cannot_grant:
            request = item.request.get(lang) or convert_script(item.request["zh-Hant"], lang)
            units = _units(request, lang)
            overlap = len(words & units) / max(len(units), 1)
            if overlap > score:
                best, score = item, overlap
        if best is None or score < 0.35:
            return None
        request = best.request.get(lang) or convert_script(best.request["zh-Hant"], lang)
        reason = best.reason.get(lang) or convert_script(best.reason["zh-Hant"], lang)
        alternative = best.alternative.get(lang) or convert_script(best.alternative["zh-Hant"], lang)
        request, reason, alternative = (self._second_person(x, lang).rstrip("。.") for x in (request, reason, alternative))
        if lang == "en":
            request, reason, alternative = (x[:1].lower() + x[1:] for x in (request, reason, alternative))
        return request, reason, alternative

    @staticmethod
    def _second_person(text: str, lang: str) -> str:
        for old, new in _TO_SECOND_PERSON[lang]:
            text = re.sub(rf"\b{re.escape(old)}\b", new, text) if lang == "en" else text.replace(old, new)
        if lang == "en":  # "while the customer waits" -> "while you wait"
            text = re.sub(r"\byou (has|is|was|does|waits|needs|wants|gets|pays|receives|chooses|asks|travels|returns|keeps|sends|prefers|decides|cancels|uses)\b",
                          lambda m: "you " + {"has": "have", "is": "are", "was": "were", "does": "do"}.get(m.group(1), m.group(1)[:-1]), text)
        return text

    @staticmethod
    def _remedy(amount: float, label: str, lang: str) -> str:
        if lang == "en":
            return f"a CNY {amount:g} {label}"
        return f"{amount:g} 元的{label}"

    @staticmethod
    def _promised_deadline(ledger: Ledger | None, lang: str) -> str | None:
        contact = ledger.current("callback") if ledger is not None else None
        if contact is None or contact.due is None or ledger is None or ledger.now is None or contact.due <= ledger.now:
            return None
        return describe_due(contact.due, ledger.now, lang)

    # ------------------------------------------------------------------ a conversation under way

    def _continuing(self, kind: DraftKind, r: DraftRequest, ledger: Ledger) -> str:
        """A reply in the middle of a conversation: the case has been acknowledged already, so answer the
        mood, keep the promises, and move the next step on, briefly (phrasebook moves)."""
        analysis, category, level = r.analysis, r.category, r.level
        lang = analysis.reply_language
        slots = self.slots(analysis, category, lang)
        promised = self._promised_deadline(ledger, lang)
        if promised:
            slots["deadline"] = promised
        seed = int(hashlib.sha1(f"{kind}\x1f{r.complaint}".encode()).hexdigest(), 16)
        moves: list[tuple[str, dict[str, str]]] = []
        if kind == "compensation":
            offered = ledger.current("compensation")
            if offered is not None and category is not None:
                label = COMPENSATION_LABEL.get(category.compensation.type, COMPENSATION_LABEL["voucher"])[lang]
                moves.append(("compensation_given", slots | {"remedy": self._remedy(offered.amount or 0, label, lang)}))
                moves += [m for m in self._phrase_compensation(analysis, category, level, lang, slots) if m[0] == "request_approval"]
            else:
                moves.append(("apologise", slots))
                moves += self._phrase_compensation(analysis, category, level, lang, slots)
            moves.append(("follow_up", slots))
        else:
            if analysis.anger >= 2:
                moves.append(("empathise", slots))
            moves.append(("apologise", slots))
            if ledger.apologies_in_a_row < 2:  # the reassuring line that replaces a third apology already owns it
                moves.append(("own", slots))
            escalated = any(c.kind == "escalation" for c in ledger.commitments)
            if "manager" in analysis.signal_names and level == "agent" and not escalated:
                moves.append(("escalate", slots | {"approver": APPROVER["supervisor"][lang]}))
            moves.append(("follow_up", slots) if promised else ("next_step", slots))
        moves = self._keep_to_ledger(moves, ledger, promised)
        sentences: list[str] = []
        deadline_said = False
        for i, (move, fill) in enumerate(moves):
            if sentences and "issue" in fill:
                fill = fill | {"issue": GENERIC_ISSUE[lang] if lang != "en" else "this"}
            phrase = self._pick_phrase(lang, move, fill, seed + i, sentences)
            if phrase and deadline_said and slots["deadline"] in phrase:
                continue  # the promised time is said once per reply
            if phrase:
                sentences.append(phrase)
                deadline_said = deadline_said or slots["deadline"] in phrase
        return (" " if lang == "en" else "").join(sentences)

    @staticmethod
    def _keep_to_ledger(moves: list[tuple[str, dict[str, str]]], ledger: Ledger, promised: str | None) -> list[tuple[str, dict[str, str]]]:
        out = []
        for move, fill in moves:
            if move == "apologise" and ledger.apologies_in_a_row >= 2:
                move = "reassure"
            elif move == "follow_up" and promised:
                move = "keep_promise"
            elif move == "offer_compensation" and (offered := ledger.current("compensation")) is not None:
                fill = fill | {"remedy": _restate_amount(fill.get("remedy", ""), offered.amount)}
            out.append((move, fill))
        return out

    def _phrase_compensation(
        self, analysis: Analysis, category: PolicyCategory | None, level: Level, lang: str, slots: dict[str, str]
    ) -> list[tuple[str, dict[str, str]]]:
        if category is None:
            return [("own", slots), ("next_step", slots)]
        limit = category.limit(level)
        label = COMPENSATION_LABEL.get(category.compensation.type, COMPENSATION_LABEL["voucher"])[lang]
        moves: list[tuple[str, dict[str, str]]] = []
        if limit > 0:
            moves.append(("offer_compensation", slots | {"remedy": self._remedy(limit, label, lang)}))
        asked = max(analysis.facts.demanded, default=0.0)
        if asked > limit and level != "manager":
            higher = next((lvl for lvl in LEVELS[LEVELS.index(level) + 1 :] if asked <= category.limit(lvl)), "manager")
            request = min(asked, category.limit(higher))
            moves.append(("request_approval", slots | {"approver": APPROVER[higher][lang], "remedy": self._remedy(request, label, lang)}))
        return moves

    def _pick_phrase(self, lang: str, move: str, fill: dict[str, str], seed: int, used: list[str]) -> str | None:
        """A phrasebook phrase of `move` (variety by seed), preferring ones that use the slots we can fill."""
        phrases = self.phrasebook.phrases(lang, move)
        usable = [p for p in phrases if phrase_slots_of(p) <= {k for k, v in fill.items() if v}]
        rich = [p for p in usable if phrase_slots_of(p)] or usable
        if move in ("next_step", "follow_up") and fill.get("deadline"):
            rich = [p for p in rich if "deadline" in phrase_slots_of(p)] or rich
        for offset in range(len(rich)):
            phrase = rich[(seed + offset) % len(rich)]
            text = phrase.format(**{k: fill[k] for k in phrase_slots_of(phrase)})
            if text not in used:
                return text
        return None

