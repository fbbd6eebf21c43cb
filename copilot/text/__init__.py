"""Language, script and sentence handling shared by every stage of the pipeline."""

from copilot.text.blank import is_blank
from copilot.text.language import REPLY_LANGUAGES, Language, ReplyLanguage, detect_language, is_chinese
from copilot.text.script import convert_script, to_simplified, to_traditional
from copilot.text.sentences import split_sentences

__all__ = [
    "REPLY_LANGUAGES",
    "Language",
    "ReplyLanguage",
    "convert_script",
    "detect_language",
    "is_blank",
    "is_chinese",
    "split_sentences",
    "to_simplified",
    "to_traditional",
]
