"""Naming the customer's problem in their own terms, and what they ask for.

The topic is the clause of the complaint that says what went wrong, cleaned the way an agent would say it
back: connectives, intensifiers, insults and particles dropped, the person swapped ("我的耳机左边没声音" ->
"耳机左边没声音", "my camera takes blurry photos" -> "your camera takes blurry photos"). When no clause
reads well enough, there is no topic and the drafts speak of the problem by its broad type instead:
a generic phrase is better than a clause cut mid-way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import yaml

from copilot.text.script import convert_script, to_simplified

_CLAUSE_ZH = re.compile(r"[^，,。！？!?；;~～\n…：:、\s]+")
_CLAUSE_EN = re.compile(r"(?:[^.!?;\n]|[.!?](?=\S))+(?:[.!?;]+|$)")  # "$22.99" and "e.g." stay inside
_EN_SPLIT = re.compile(r",?\s+(?:but|however|although|though|and then|so now|yet)\s+|\s+-\s+|,\s+(?=(?:and|which)\s)", re.IGNORECASE)
_URL = re.compile(r"https?://\S+|www\.\S+|\b[\w-]+\.(?:com|cn|net|org|hk|tw|io|me|ly)(?:/\S*)?", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
# English words that start a clause with its own subject ("the app keeps crashing", "it broke")
# (not "it", "they", "this": said back out of context nobody knows what they point at)
_EN_SUBJECT = re.compile(r"^(?:your|the|you|you're|you've|nobody|no one|a|an|[A-Z][A-Za-z0-9]+)\b")
_SYMBOLS = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F#@*~^]+")  # emoji, hashtags, decorations
# a clause that starts like this is an opinion, a request or a story, not the problem
_BAD_START_ZH = re.compile(r"^(?:想|要|说|觉得|感觉|希望|请|麻烦|帮|投诉|问|是|有点|估计|可能|应该|好在|首要|唯一|整体|总体|总之|不敢|不知|知道|看|听|在|从|到|去|来|给|让|把|被|对|跟|和|与|为|因|由|连|等到|找|打|叫|点|定|订|买)")
# asks the drafts answer in their own words (a refund, when): a question that is one is not noted again
_ANSWERED_ASKS = frozenset({"refund", "replacement", "compensation", "cancel", "when", "delete_record", "explanation"})
_CANTONESE = re.compile(r"[咗嘅唔喺冇佢哋嚟晒咁啲嗰睇揾搵嘢噉咪]")
_EN_PAST = re.compile(r"^(?:\w+ed|bought|paid|got|went|sent|took|made|had|came|gave|told|left|spent|found|brought|tried)\b", re.IGNORECASE)
# a clause said back after "sorry to hear" needs a finite verb
_EN_FINITE = re.compile(r"\b(?:is|are|was|were|has|have|had|keeps?|kept|won't|doesn't|don't|didn't|can't|cannot|isn't|aren't|"
                        r"wasn't|weren't|hasn't|haven't|will|would|could|never|got|gets|came|went|took|left|broke|stopped|"
                        r"charged|sent|lost|says|said|takes|makes|shows|works|runs|stops|crashes|freezes|drops|fails|turns|goes|"
                        r"comes|looks|sounds|charges|drains|dies|loads|opens|closes|lets|needs|\w+ed)\b", re.IGNORECASE)
_FUNCTION_WORDS = frozenset(["the", "this", "that", "these", "those", "it", "its", "there", "they", "your", "you", "a", "an", "one", "my", "our", "i", "we", "some", "all"])

Form = Literal["clause", "aspects"]


@dataclass(frozen=True)
class Topic:
    """The problem as the agent would name it, in the reply's language and script.

    `form` says how it reads: "clause" is the customer's own clause said back ("耳机左边没声音",
    "your camera takes blurry photos"); "aspects" is the named aspects ("上菜太慢、服务态度", "the long wait").
    """

    phrase: str
    start: int
    end: int
    form: Form = "clause"
    aspects: tuple[str, ...] = ()
    fallback: str | None = None  # the aspects named, for when the customer's clause cannot be said back
    statement: str | None = None  # the experience restated after "很抱歉" / "I'm sorry" ("让您等了这么久，菜没有做熟")


@dataclass(frozen=True)
class Aspect:
    id: str
    type: str
    patterns: dict[str, re.Pattern[str] | None]
    names: dict[str, str]
    needs_symptom: bool = False
    narrows: frozenset[str] = frozenset()  # broader aspects this one names more precisely
    says: dict[str, str] | None = None  # the experience restated, after "很抱歉" / "I'm sorry"


def _join(parts: list[str], lang: str, chinese_joiner: str) -> str:
    if lang == "en":
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return chinese_joiner.join(parts)


def load_aspects(path: Path) -> list[Aspect]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for item in data["aspects"]:
        names = dict(item["name"])
        names.setdefault("zh-Hans", names["zh"])
        names.setdefault("zh-Hant", convert_script(names["zh"], "zh-Hant"))
        says = dict(item["says"]) if item.get("says") else None
        if says is not None:
            says.setdefault("zh-Hans", says["zh"])
            says.setdefault("zh-Hant", convert_script(says["zh"], "zh-Hant"))
        out.append(Aspect(id=item["id"], type=item["type"], names=names, needs_symptom=bool(item.get("needs_symptom")),
                          narrows=frozenset(item.get("narrows", [])), says=says,
                          patterns={k: _patterns([item[k]]) if item.get(k) else None for k in ("zh", "en")}))
    return out


def _normalise(text: str) -> str:
    """Simplified script, character for character, so offsets stay those of the original."""
    norm = to_simplified(text)
    return norm if len(norm) == len(text) else "".join(c if len(s := to_simplified(c)) != 1 else s for c in text)


def _patterns(raw: list[str] | None) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in raw), re.IGNORECASE) if raw else None


def _matches_any(patterns: dict[str, re.Pattern[str] | None], text: str, language: str) -> bool:
    """Whether a {zh, en} pair of patterns finds something: both on Chinese (Simplified, which mixes in
    English words), the English one on English."""
    chinese = language in ("zh-Hant", "zh-Hans")
    norm = to_simplified(text) if chinese else text
    return any(p is not None and p.search(norm) for p in ((patterns["zh"], patterns["en"]) if chinese else (patterns["en"],)))


class ReadingLexicon:
    """The word lists of `knowledge/analysis/reading.yaml`, compiled."""

    def __init__(self, path: Path, aspects: list[Aspect] | None = None) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.aspects = aspects or []
        topic = data["topic"]
        self.contentless = {k: re.compile(rf"^(?:{'|'.join(v)})$", re.IGNORECASE) for k, v in data["contentless"].items()}
        self.topic = {
            name: {key: _patterns(topic[name].get(key)) for key in ("zh", "en")}
            for name in ("symptom", "insult", "feeling", "question", "demand", "advice", "praise", "lead", "intensifier", "particle")
        }
        self.subject_zh = _patterns(topic["subject"]["zh"])
        self.second_person = {k: [(a, b) for a, b in v] for k, v in topic["second_person"].items()}
        self.max_length = topic["max_length"]
        self.min_length = topic["min_length"]
        self.asks = {name: {key: _patterns(v.get(key)) for key in ("zh", "en")} for name, v in data["asks"].items()}
        self.vulnerable = {key: _patterns(data["vulnerable"][key]) for key in ("zh", "en")}
        self.ask_negation = {key: re.compile(data["ask_negation"][key], re.IGNORECASE) for key in ("zh", "en")}
        self.compliment = {key: _patterns(data["compliment"][key]) for key in ("zh", "en")}
        self.compliment_negation = {key: re.compile(data["compliment"]["negation"][key], re.IGNORECASE) for key in ("zh", "en")}
        self.question_to_us = {key: _patterns(data["question_to_us"].get(key)) for key in ("zh", "en")}
        self.rhetorical = {key: _patterns(data["rhetorical"][key]) for key in ("zh", "en")}
        self.problem_evidence = {kind: {key: _patterns([v[key]]) for key in ("zh", "en")} for kind, v in data["problem_evidence"].items()}
        self.aspect_types = {a.id: a.type for a in self.aspects}
        signature = data["signature"]
        self.signature_zh = re.compile(signature["zh"])
        self.signature_en = (re.compile(signature["en_closing"], re.IGNORECASE), re.compile(signature["en_name"]))

    def hits(self, name: str, key: str, text: str) -> int:
        pattern = self.topic[name][key]
        return len(pattern.findall(text)) if pattern is not None else 0

    # ------------------------------------------------------------------ contentless

    def is_contentless(self, text: str) -> bool:
        """Nothing to act on: greetings, "在吗", emoji, links, punctuation only."""
        rest = _URL.sub(" ", text)
        words = re.findall(r"[\u3400-\u9fff]+|[A-Za-z']+", to_simplified(rest))
        if not words:
            return True
        zh, en = self.contentless["zh"], self.contentless["en"]
        meaningful = []
        for word in words:
            if _CJK.match(word):
                # split a run of Chinese greetings ("你好在吗") by removing each greeting it contains
                left = re.sub("|".join(p for p in zh.pattern[4:-2].split("|")), "", word)
                if left:
                    meaningful.append(left)
            elif not en.match(word):
                meaningful.append(word)
        content = "".join(meaningful)
        return len(_CJK.findall(content)) < 2 and len(re.findall(r"[A-Za-z]", " ".join(m for m in meaningful if not _CJK.search(m)))) < 4 \
            and not (len(meaningful) >= 2 and not _CJK.search(content))

    # ------------------------------------------------------------------ asks

    def asks_in(self, text: str, chinese: bool) -> list[str]:
        norm = to_simplified(text) if chinese else text
        keys = ["zh", "en"] if chinese else ["en"]

        def asked(pattern: re.Pattern[str] | None, key: str) -> bool:
            negation = self.ask_negation[key]
            return pattern is not None and any(not negation.search(norm[max(0, m.start() - 24) : m.start()]) for m in pattern.finditer(norm))

        return [name for name, pats in self.asks.items() if any(asked(pats[k], k) for k in keys)]

    # ------------------------------------------------------------------ problem type

    def fits_problem(self, problem_type: str, text: str, language: str) -> bool:
        """Whether the complaint has words that fit a problem type (types without evidence always fit)."""
        evidence = self.problem_evidence.get(problem_type)
        return evidence is None or _matches_any(evidence, text, language)

    def problem_type_for(self, read: str | None, text: str, language: str, aspects: list[str]) -> str | None:
        """The problem type to act on: the one read from the examples when the complaint bears it out, else
        that of the first aspect raised that does, else "other"."""
        if read is None or self.fits_problem(read, text, language):
            return read
        for aspect in aspects:
            kind = self.aspect_types.get(aspect)
            if kind and self.fits_problem(kind, text, language):
                return kind
        return "other"

    # ------------------------------------------------------------------ what else the reply answers

    def praises(self, text: str, language: str) -> bool:
        """Whether the customer also says something was done well: two clauses or more (and more than one in
        eight) with a compliment, not negated, not quoted, and not themselves telling a problem."""
        chinese = language in ("zh-Hant", "zh-Hans")
        key = "zh" if chinese else "en"
        pattern, negation = self.compliment[key], self.compliment_negation[key]
        norm = to_simplified(text) if chinese else text
        norm = re.sub(r"[“\"「『][^”\"」』]{0,12}[”\"」』]", " ", norm)  # a quoted word is usually sarcasm
        clauses = [m.group(0) for m in _CLAUSE_ZH.finditer(norm)] if chinese else \
            [part for m in _CLAUSE_EN.finditer(norm) for piece in _EN_SPLIT.split(m.group(0)) for part in piece.split(",")]
        praised = 0
        for clause in clauses:
            if pattern is None or self.hits("symptom", key, clause) or self.hits("insult", key, clause):
                continue
            if any(not negation.search(clause[: hit.start()]) for hit in pattern.finditer(clause)):
                praised += 1
        # one "不错" in passing is as often about a rival or another branch; thanks for praise never given is
        # worse than thanks left unsaid
        return praised >= 2 and praised >= 0.12 * len(clauses)

    def mentions_vulnerable(self, text: str, language: str) -> bool:
        """Whether someone who needs extra care is affected (an elderly relative on oxygen, a newborn)."""
        return _matches_any(self.vulnerable, text, language)

    def questions_in(self, text: str, language: str) -> list[str]:
        """The questions the customer puts to the company and wants answered (not rhetorical ones)."""
        chinese = language in ("zh-Hant", "zh-Hans")
        key = "zh" if chinese else "en"
        norm = to_simplified(text) if chinese else text
        out = []
        for m in re.finditer(r"[^。！!？?\n]+[？?]+[!！]?" if chinese else r"[^.!?\n]+\?+!?", norm):
            sentence = m.group(0).strip()
            tail = re.split(r"[，,：:；;]", sentence)[-1]  # the question is the last clause of its sentence
            rhetorical = self.rhetorical[key]
            if (rhetorical is not None and rhetorical.search(sentence)) or self.hits("insult", key, sentence):
                continue
            if any(name in _ANSWERED_ASKS and self.asks[name][key] is not None and self.asks[name][key].search(sentence)
                   for name in self.asks):
                continue  # "can you refund the fee?" is a request, answered as one
            addressed = self.question_to_us[key]
            if addressed is not None and not addressed.search(sentence):
                continue  # "五个人够吃吗？" in a review is said to the reader, not asked of us
            if len(_CJK.findall(tail) if chinese else _WORD.findall(tail)) >= 3:
                out.append(text[m.start() : m.end()].strip())
        return out

    def signed_name(self, text: str, language: str) -> str | None:
        """The name a letter is signed with ("王同学", "Sarah"), to greet the customer by."""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) < 2:
            return None
        last = lines[-1]
        if language in ("zh-Hant", "zh-Hans"):
            return last if self.signature_zh.match(to_simplified(last)) else None
        closing, name = self.signature_en
        if closing.match(lines[-2]) and name.match(last):
            return last.lstrip("- ").split()[0]
        return None

    # ------------------------------------------------------------------ topic

    def topic_of(self, text: str, language: str, reply_language: str) -> Topic | None:
        """The customer's own clause when a short complaint raises one problem and says it cleanly; else
        the aspects it raises, named; else the best clause; else None."""
        if language not in ("zh-Hant", "zh-Hans", "en"):
            return None
        chinese = language != "en"
        found = self.aspects_in(text, language)
        clause = self._topic_zh(text, reply_language) if chinese else (self._topic_en(text) if len(text) <= 400 else None)
        short = len(text) <= (160 if chinese else 400)
        # the customer's own words, when they say what the first problem raised is, read best
        named = self.name_aspects(found, reply_language, most=3 if short or chinese else 2)
        if clause is not None and (not found or (short and len(found) <= 2 and clause.start <= found[0][0] < clause.end)):
            # a Chinese clause said back is already a statement: "很抱歉热水开了很久也不热"
            return replace(clause, fallback=named.phrase if named else None, statement=clause.phrase if chinese else None)
        return named or clause

    def _score(self, clause: str, key: str, index: int) -> float:
        symptom = self.hits("symptom", key, clause)
        if not symptom:
            return -9.0
        score = 2.0 * min(symptom, 2)
        score -= 3.0 * min(self.hits("insult", key, clause), 1)
        score -= 3.0 * min(self.hits("advice", key, clause), 1)
        score -= 3.0 * min(self.hits("praise", key, clause), 1)
        score -= 1.5 * min(self.hits("demand", key, clause), 1)
        score -= 1.0 * min(self.hits("question", key, clause), 1)
        score -= 2.0 * min(self.hits("feeling", key, clause), 1)
        return score - 0.15 * index  # the problem is usually told early

    # aspects ---------------------------------------------------------------

    def aspects_in(self, text: str, language: str) -> list[tuple[int, Aspect]]:
        """(offset, aspect) for each aspect the complaint raises, first mention first."""
        chinese = language in ("zh-Hant", "zh-Hans")
        key = "zh" if chinese else "en"
        norm = _normalise(text) if chinese else text
        clause_re = _CLAUSE_ZH if chinese else _CLAUSE_EN
        found: dict[str, tuple[int, Aspect]] = {}
        # a long narrative says what it is about at the start; what it mentions later is mostly background
        horizon = len(norm) if len(norm) <= 700 else 500
        for m in clause_re.finditer(norm):
            if m.start() > horizon:
                break
            clause = m.group(0)
            if self.hits("advice", key, clause) and not self.hits("symptom", key, clause):
                continue
            has_symptom = bool(self.hits("symptom", key, clause))
            here: dict[str, tuple[int, Aspect]] = {}
            for aspect in self.aspects:
                pattern = aspect.patterns.get(key)
                hit = pattern.search(clause) if pattern is not None else None
                if hit and (has_symptom or not aspect.needs_symptom):
                    here[aspect.id] = (m.start() + hit.start(), aspect)
            # the precise name wins over the broad one for the same mention ("没烤熟" is not also "菜品口味")
            narrowed = {n for _, a in here.values() for n in a.narrows}
            for aspect_id, hit in here.items():
                if aspect_id not in narrowed:
                    found.setdefault(aspect_id, hit)
        return sorted(found.values(), key=lambda x: x[0])

    def name_aspects(self, found: list[tuple[int, Aspect]], reply_language: str, most: int = 3) -> Topic | None:
        if not found:
            return None
        picked = found[:most]
        names = list(dict.fromkeys(a.names[reply_language] for _, a in picked))
        # Chinese names are listed with "、" and the reply says how many ("这两个问题"): names can hold a 和
        phrase = _join(names, reply_language, "、")
        says = [a.says[reply_language] for _, a in picked if a.says]
        statement = _join(list(dict.fromkeys(says)), reply_language, "，") if len(says) == len(picked) else None
        return Topic(phrase=phrase, start=picked[0][0], end=picked[-1][0], form="aspects", aspects=tuple(a.id for _, a in picked),
                     statement=statement)

    # Chinese ---------------------------------------------------------------

    def _clean_zh(self, clause: str) -> str:
        t = self.topic
        text = _SYMBOLS.sub("", clause)
        for _ in range(4):  # leading connectives and subjects come stacked: "但是我的..."
            before = text
            for pattern in (t["lead"]["zh"], self.subject_zh):
                if pattern is not None:
                    text = re.sub(rf"^(?:{pattern.pattern})", "", text)
            text = re.sub(r"^(?:为什么|为啥|怎么|咋)(?=.)", "", text)
            if text == before:
                break
        if t["intensifier"]["zh"] is not None:
            text = t["intensifier"]["zh"].sub("", text)
        for _ in range(2):
            if t["particle"]["zh"] is not None:
                text = t["particle"]["zh"].sub("", text)
            text = re.sub(r"(?:吗|呢|么|是不是|对吧|好吗)$", "", text)
        for a, b in self.second_person["zh"]:
            text = text.replace(a, "\x00" + b + "\x01")  # mark swapped words so a later pair does not swap them back
        return re.sub(r"[\x00\x01]", "", text).strip()

    def _topic_zh(self, text: str, reply_language: str) -> Topic | None:
        norm = _normalise(text)
        clauses = [(m.start(), m.end(), m.group(0)) for m in _CLAUSE_ZH.finditer(norm)]
        ranked = sorted(
            ((self._score(c, "zh", i), i) for i, (_, _, c) in enumerate(clauses) if len(_CJK.findall(c)) >= 2),
            reverse=True,
        )
        for score, i in ranked[:8]:
            if score < 1.0:
                break
            start, end, clause = clauses[i]
            phrase = self._clean_zh(clause)
            # a bare symptom ("坏了", "没声音") says more with the thing it is about, told just before it
            if len(phrase) < 6 and i > 0:
                pstart, _, previous = clauses[i - 1]
                joined = self._clean_zh(previous) + phrase
                if not self.hits("symptom", "zh", previous) and len(previous) <= 10 and len(joined) <= 14:
                    phrase, start = joined, pstart
            if self._acceptable_zh(phrase):
                phrase = convert_script(phrase, reply_language) if reply_language in ("zh-Hant", "zh-Hans") else phrase
                return Topic(phrase=phrase, start=start, end=end, form="clause")
        return None

    def _acceptable_zh(self, phrase: str) -> bool:
        han = _CJK.findall(phrase)
        if _BAD_START_ZH.match(phrase) or re.search(r"[我你]|最(?:差|烂|糟|坑)|之一|如下|以下|上述", phrase):
            return False
        if not (self.min_length["zh"] <= len(phrase) <= self.max_length["zh"]) or len(han) < 3:
            return False
        if self.hits("insult", "zh", phrase) or self.hits("advice", "zh", phrase) or self.hits("feeling", "zh", phrase):
            return False
        if _CANTONESE.search(phrase):
            return False  # the reply is written Chinese: spoken Cantonese said back reads as mimicry
        if re.search(r"[?？!！\"“”「」()（）【】\[\].．]", phrase) or phrase in ("问题", "这个问题", "这问题") or re.search(r"不是.{0,8}问题", phrase):
            return False
        return bool(self.hits("symptom", "zh", phrase))

    # English ---------------------------------------------------------------

    def _clean_en(self, clause: str) -> str:
        t = self.topic
        text = _SYMBOLS.sub("", clause).strip().strip("\"'“”‘’()[] ")
        text = re.sub(r"[.!?;:,]+$", "", text).strip()
        for _ in range(4):
            before = text
            if t["lead"]["en"] is not None:
                text = re.sub(rf"^(?:{t['lead']['en'].pattern})\b[,:]?\s*", "", text, flags=re.IGNORECASE)
            if text == before:
                break
        if t["intensifier"]["en"] is not None:
            text = re.sub(rf"\b(?:{t['intensifier']['en'].pattern})\b\s*", "", text, flags=re.IGNORECASE)
        text = re.sub(r"\s+", " ", text).strip(" ,")
        return self._to_second_person(text)

    def _to_second_person(self, text: str) -> str:
        pairs = sorted(self.second_person["en"], key=lambda p: -len(p[0]))
        pattern = re.compile(r"\b(" + "|".join(re.escape(a) for a, _ in pairs) + r")\b", re.IGNORECASE)
        table = dict(pairs)

        def swap(m: re.Match[str]) -> str:
            word = m.group(0)
            out = table[word.lower()]
            return out.capitalize() if word[0].isupper() and m.start() == 0 else out

        text = pattern.sub(swap, text)
        text = re.sub(r"\byou (has|was|is|does|doesn't|wasn't|isn't)\b",
                      lambda m: "you " + {"has": "have", "was": "were", "is": "are", "does": "do", "doesn't": "don't",
                                          "wasn't": "weren't", "isn't": "aren't"}[m.group(1)], text)
        first = text.split(" ", 1)[0]
        if first.lower() in _FUNCTION_WORDS or first.lower().startswith("you"):
            text = text[:1].lower() + text[1:]
        return text

    def _topic_en(self, text: str) -> Topic | None:
        pieces: list[tuple[int, int, str]] = []
        for m in _CLAUSE_EN.finditer(text):
            offset = m.start()
            cursor = 0
            for part in _EN_SPLIT.split(m.group(0)):
                at = m.group(0).find(part, cursor)
                cursor = at + len(part)
                if part.strip():
                    pieces.append((offset + at, offset + at + len(part), part))
        ranked = sorted(((self._score(p, "en", i), i) for i, (_, _, p) in enumerate(pieces)), reverse=True)
        for score, i in ranked[:3]:
            if score < 1.0:
                break
            start, end, piece = pieces[i]
            phrase = self._clean_en(piece)
            phrase = self._shorten_en(phrase)
            if phrase is None or not self._acceptable_en(phrase):
                continue
            form: Form = "clause"
            if not _EN_SUBJECT.match(phrase):
                if _EN_PAST.match(phrase):
                    phrase = "you " + phrase[:1].lower() + phrase[1:]
                else:
                    continue  # a clause without its subject cannot be said back naturally
            if not _EN_FINITE.search(phrase):
                continue  # "app crashing every time" is notes, not a sentence to say back
            return Topic(phrase=phrase, start=start, end=end, form=form)
        return None

    def _shorten_en(self, phrase: str) -> str | None:
        words = phrase.split()
        limit = self.max_length["en"]
        if len(words) <= limit:
            return phrase
        # cut at a natural break: a comma or a subordinate clause, keeping the part that says what went wrong
        for cut in re.finditer(r",\s|\s(?:because|since|which|when|after|as|so|and|while|even though|despite)\s", phrase):
            head = phrase[: cut.start()]
            if 4 <= len(head.split()) <= limit and self.hits("symptom", "en", head):
                return head
        return None

    def _acceptable_en(self, phrase: str) -> bool:
        words = _WORD.findall(phrase)
        if not (self.min_length["en"] <= len(words) <= self.max_length["en"]):
            return False
        if self.hits("insult", "en", phrase) or self.hits("advice", "en", phrase):
            return False
        if re.search(r"[?!\"“”]|'[^']+'|XXXX|\bXX\b", phrase) or re.match(r"^(?:why|what|how|when|where|who|can|could|will|would|is|are|do|does|did|should)\b", phrase, re.IGNORECASE):
            return False
        if re.search(r"\b(?:you|your)\b.*\b(?:I|me|my)\b", phrase):
            return False
        return bool(self.hits("symptom", "en", phrase))
