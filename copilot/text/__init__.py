"""Language, script and sentence handling shared by every stage of the pipeline."""

from copilot.text.blank import is_blank
from copilot.text.language import Language, detect_language, is_chinese
from copilot.text.script import convert_script, to_simplified, to_traditional
from copilot.text.sentences import split_sentences

__all__ = [
    "Language",
    "convert_script",
    "detect_language",
    "is_blank",
    "is_chinese",
    "split_sentences",
    "to_simplified",
    "to_traditional",
]
