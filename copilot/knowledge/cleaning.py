"""Turning scraped pages into article text.

Real knowledge sources are web pages: breadcrumbs, tag clouds, copyright footers, contact blocks,
spam titles injected by the host, pinyin injected after characters (`服務(wù)`), HTML remnants and
mis-decoded characters. Each line is judged on its own shape (not on a list of known pages), then the
article is the stretch between the first and the last line that reads like prose.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser
from typing import ClassVar

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
# a syllable of pinyin: optional initial, a vowel group, optional nasal/r ending
_PINYIN_SYLLABLE = re.compile(
    rf"^(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?[aeiouvü{_TONED}]{{1,3}}(?:ng|n|r)?$"
)
_PINYIN_AFTER_HAN = re.compile(rf"(?<=[{_CJK}?])[(（]([a-z{_TONED}]{{1,7}}) ?[)）]")
# Signatures of text decoded with the wrong codec: enclosed numerals or private-use characters, a Latin
# capital wedged between Han characters, or '?' standing for an undecodable character.
_MOJIBAKE = re.compile(rf"[\u2460-\u24ff\ue000-\uf8ff]|[{_CJK}][A-Z](?=[{_CJK}])")
_QUESTION_WORD = re.compile(r"什麼|什么|哪|嗎|吗|呢|如何|怎|為何|为何|為什|为什|是否|多少|幾|几|誰|谁")
_CLAUSE = re.compile(r"[^，,。；;！!：:]*[，,。；;！!：:]?")

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+?\d[\d\s-]{6,}\d)")
_DATE_TIME = re.compile(r"\d{4}\s*[-/年.]\s*\d{1,2}(?:\s*[-/月.]\s*\d{1,2}日?)?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
_IMAGE_FILE = re.compile(r"^\S+\.(?:png|jpe?g|gif|webp|bmp|svg)$", re.IGNORECASE)
_BREADCRUMB = re.compile(r"(?:>{1,3}|»|›|＞)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_BR = re.compile(r"<\s*br\s*/?\s*>|</?\s*(?:p|div|span|li|ul|ol|strong|em|b|i)\s*/?>", re.IGNORECASE)
# '?' runs left where a decoder replaced characters it could not read (e.g. '?!?' for '。”')
_QMARK_RUN = re.compile(r"\?[!！.]?\?+|\ufffd+")
_LEADING_JUNK = re.compile(r"^[\s?？•·▪◦●■□◆◇※*]+")
_SENTENCE_PUNCT = re.compile(r"[。！？；，、,.!?;:：]")

# Words that mark site furniture rather than article text (site-agnostic: copyright, navigation,
# sharing, contact and advertising vocabulary in both scripts and English).
_BOILERPLATE = re.compile(
    r"版權|版权|免責|免责|著作權|著作权|ICP備|ICP备|本站|本文關鍵詞|本文关键词|相關文章|相关文章|相關鏈接|相关链接|"
    r"推薦文章|推荐文章|熱門標|热门标|上一篇|下一篇|關注我們|关注我们|公眾號|公众号|官方微博|掃碼|扫码|"
    r"你所在的位置|您所在的位置|當前位置|当前位置|點擊數|点击数|發布于|发布于|發佈於|更新時間|更新时间|"
    r"添加企業微信|添加企业微信|填寫信息|填写信息|專人與您溝通|专人与您沟通|竭誠為您服務|竭诚为您服务|"
    r"相關頻道|相关频道|作者供稿|責任編輯|责任编辑|編輯整理|编辑整理|本課程名稱|本课程名称|本頁|本页|本文章|"
    r"同類信息|同类信息|網民|网民|"
    r"copyright|all rights reserved|privacy policy|cookie|subscribe|share this|related posts|read more",
    re.IGNORECASE,
)
_CONTACT_PREFIX = re.compile(r"^(?:電話|电话|郵箱|邮箱|地址|傳真|传真|tel|phone|e-?mail|fax|address)\s*[:：]", re.I)
# Titles that spam injectors stuff into hosted pages: several of these words in one line.
_SPAM_WORDS = re.compile(
    r"在线观看|在線觀看|免费观看|免費觀看|高清|精品|日韩|日韓|欧美|歐美|亚洲|亞洲|无码|無碼|字幕|丝袜|絲襪|"
    r"三级|三級|午夜|成人|视频|視頻|av|不卡|无广告|無廣告|影院|直播"
)
_HEADING = re.compile(r"^#{1,6}\s+")


def strip_html(raw: str) -> str:
    """HTML to text with block elements on their own lines; scripts, styles and nav dropped."""

    class _Text(HTMLParser):
        SKIP: ClassVar[set[str]] = {"script", "style", "nav", "footer", "header", "aside", "noscript", "form", "iframe", "title"}
        BLOCK: ClassVar[set[str]] = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article"}

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.out: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag in self.SKIP:
                self.skip += 1
            elif tag in self.BLOCK:
                self.out.append("\n")
                if tag in {"h1", "h2", "h3"}:
                    self.out.append("## ")

        def handle_endtag(self, tag: str) -> None:
            if tag in self.SKIP and self.skip:
                self.skip -= 1
            elif tag in self.BLOCK:
                self.out.append("\n")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.out.append(data)

    parser = _Text()
    parser.feed(raw)
    parser.close()
    return "".join(parser.out)


def remove_injected_pinyin(text: str) -> str:
    """`服務(wù)` -> `服務`: drop a parenthesised pinyin syllable that directly follows a Han character."""

    def repl(m: re.Match[str]) -> str:
        syllable = m.group(1)
        return "" if _PINYIN_SYLLABLE.match(syllable) else m.group(0)

    return _PINYIN_AFTER_HAN.sub(repl, text)


def normalise_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line)
    line = html.unescape(line)
    line = _CONTROL.sub("", line)
    line = _BR.sub("", line)
    line = _QMARK_RUN.sub("", line)
    line = line.replace("\u00a0", " ").replace("\u3000", " ")
    line = _LEADING_JUNK.sub("", line)
    return re.sub(r"[ \t]{2,}", " ", line).strip()


def _han_count(s: str) -> int:
    return len(re.findall(rf"[{_CJK}]", s))


def is_junk_line(line: str) -> bool:
    """True for lines that are site furniture, not article text."""
    if not line:
        return False
    body = _HEADING.sub("", line)
    stripped = _URL.sub("", _EMAIL.sub("", body)).strip(" |,，;；·-")
    if not stripped:
        return True  # only links or addresses
    if _IMAGE_FILE.match(body) or _CONTACT_PREFIX.match(body):
        return True
    if len(_SPAM_WORDS.findall(body)) >= 3 or body.count("_") >= 3:
        return True
    if _BOILERPLATE.search(body) and (len(body) < 160 or not _SENTENCE_PUNCT.search(body[-3:])):
        return True
    if len(_BREADCRUMB.findall(body)) >= 1 and len(body) < 80 and not _SENTENCE_PUNCT.search(body):
        return True
    tokens = [t for t in re.split(r"[\s|｜/、]+", body) if t]
    if len(tokens) >= 6 and sum(len(t) for t in tokens) / len(tokens) <= 5 and not re.search(r"[。！？.!?]", body):
        return True  # a tag cloud or a list of place names
    if len(body) < 60 and (_DATE_TIME.search(body) or _PHONE.search(body)) and not re.search(r"[。！？!?，,]", body):
        return True  # a byline, timestamp or contact line
    return bool(re.fullmatch(r"[\d\s:：/.-]+", body))


def is_prose(line: str) -> bool:
    """Reads like a sentence of an article: long enough and punctuated."""
    body = _HEADING.sub("", line)
    han = _han_count(body)
    words = len(re.findall(r"[A-Za-z]+", body))
    return (han >= 20 or words >= 12) and bool(_SENTENCE_PUNCT.search(body))


def drop_mojibake(line: str) -> str:
    """Drop the clauses of a line that carry mis-decoding signatures.

    In Chinese text an ASCII '?' usually stands for a character the decoder could not read; it is kept
    only where its clause asks a question.
    """
    chinese = _han_count(line) > len(line) * 0.3
    if not _MOJIBAKE.search(line) and not (chinese and "?" in line):
        return line
    kept = []
    for clause in _CLAUSE.findall(line):
        stray_q = chinese and "?" in clause and not _QUESTION_WORD.search(clause.split("?")[0])
        if not (_MOJIBAKE.search(clause) or stray_q):
            kept.append(clause)
    return "".join(kept).strip()


def _is_orphan_label(lines: list[str], i: int) -> bool:
    """A short unpunctuated line followed by another such line: a site label or byline, not a heading
    (a heading is followed by the prose it introduces)."""
    line = lines[i]
    if not line or line.startswith("#") or is_prose(line) or len(line) > 40 or re.search(r"[。！？!?：:]$", line):
        return False
    nxt = next((x for x in lines[i + 1 :] if x), None)
    return (
        nxt is not None
        and not is_prose(nxt)
        and not nxt.startswith("#")
        and not re.search(r"[。！？!?：:；;，,]", nxt)
    )


def clean_text(raw: str, *, is_html: bool = False) -> str:
    """Clean a scraped page down to its article text (Markdown headings preserved)."""
    if is_html or re.search(r"<(?:html|body|div|p)\b", raw[:2000], re.IGNORECASE):
        raw = strip_html(raw)
    raw = remove_injected_pinyin(raw.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [drop_mojibake(normalise_line(x)) for x in raw.split("\n")]
    kept = ["" if is_junk_line(x) else x for x in lines]
    kept = _drop_repeated_title(kept)
    kept = ["" if _is_orphan_label(kept, i) else x for i, x in enumerate(kept)]
    prose_at = [i for i, x in enumerate(kept) if x and is_prose(x)]
    if not prose_at:
        body = kept
    else:
        # the article starts a little before its first prose line (title, heading) and ends at its last
        first, last = prose_at[0], prose_at[-1]
        start, lookback = first, 0
        for i in range(first - 1, -1, -1):
            if kept[i]:
                start, lookback = i, lookback + 1
                if lookback == 2:
                    break
        # short closing sentences after the last long one still belong to the article
        while last + 1 < len(kept) and (not kept[last + 1] or re.search(r"[。！？.!?」”]$", kept[last + 1])):
            if not kept[last + 1] and not any(kept[last + 2 : last + 3]):
                break
            last += 1
        body = kept[start : last + 1]
    text = "\n".join(body)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _drop_repeated_title(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for line in lines:
        if line and not is_prose(line) and line in seen:
            continue
        if line:
            seen.add(line)
        out.append(line)
    return out
