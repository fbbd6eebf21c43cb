"""The parts the use cases are built from: content loaded from `knowledge/`, the checker, the analyzer, the
composer, the LLM engine, the knowledge index and the stores, each made once from the settings on first
use."""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np

from copilot.analysis import Analyzer
from copilot.analysis.classifier import (
    ComplaintClassifier,
    example_query_text,
    load_classifier_settings,
    load_examples,
    load_vectors,
    vectors_path,
)
from copilot.analysis.topic import ReadingLexicon, load_aspects
from copilot.checking import Checker, CheckResult, Fixer
from copilot.checking.adjudication import Adjudicator
from copilot.checking.calibration import load_calibration
from copilot.checking.learned import ClauseClassifier, Example
from copilot.checking.roles import clause_bounds, load_roles
from copilot.checking.rules import load_rules
from copilot.conversation.brief import BriefLists, load_brief_lists
from copilot.conversation.reader import ConversationReader
from copilot.drafting.composer import Composer
from copilot.drafting.llm import LLMEngine
from copilot.drafting.replybook import load_replybook
from copilot.drafting.rewrite import Rewriter, load_controls
from copilot.knowledge.layout import KnowledgeLayout
from copilot.knowledge.phrasebook import Phrasebook, load_phrasebook
from copilot.knowledge.policies import PolicyBook, load_policies
from copilot.retrieval import IndexMissing, KnowledgeIndex, StoreUnavailable
from copilot.retrieval.embeddings import embedder_slug
from copilot.retrieval.expansion import load_lexicon
from copilot.retrieval.fusion import load_fusion
from copilot.retrieval.lexical import normalise
from copilot.settings import Settings
from copilot.stores import Stores

# the composer's and the phrasebook's slots filled the way a real reply fills them, for the classifier
_FILLED_SLOTS = {
    "zh-Hant": {"amount": "30 元", "deadline": "今天下午五點前", "remedy": "一張 30 元折價券", "approver": "店長"},
    "zh-Hans": {"amount": "30 元", "deadline": "今天下午五点前", "remedy": "一张 30 元优惠券", "approver": "店长"},
    "en": {"amount": "CNY 30", "deadline": "by 5 pm today", "remedy": "a CNY 30 credit", "approver": "the team lead"},
}


class Parts:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.layout = KnowledgeLayout(settings.knowledge_dir)
        self.stores = Stores(settings)
        self.metrics: dict[str, int] = {"suggestions": 0, "llm_fallbacks": 0, "llm_rewrites": 0, "rule_fixes": 0}
        self._index: KnowledgeIndex | None = None

    # ---------------------------------------------------------------- content

    @cached_property
    def policies(self) -> PolicyBook:
        return load_policies(self.layout.policies)

    @cached_property
    def phrasebook(self) -> Phrasebook:
        return load_phrasebook(self.layout.phrasebook)

    @cached_property
    def brief_lists(self) -> dict[str, BriefLists]:
        return load_brief_lists(self.layout.brief)

    def approved_phrasing(self) -> list[Example]:
        """The clauses of the phrasebook and of the composer's sentences, with an amount, a time and a remedy in
        their slots (other slots left out): house style the classifier learns as compliant, so that it never
        vetoes the project's own sentences (it once took the sign-off "Customer Care Team" for blame)."""
        out = []
        for lang, moves in [*self.phrasebook.moves.items(), *self.composer.replies.moves.items()]:
            for phrases in moves.values():
                for phrase in phrases:
                    text = re.sub(r"\{([a-z_]+)\}", lambda m, lang=lang: _FILLED_SLOTS.get(lang, {}).get(m.group(1), " "), phrase)
                    out += [Example(text=text[s:e], lang=lang, category="none") for s, e in clause_bounds(text, lang)]
        return out

    # ---------------------------------------------------------------- checking

    @cached_property
    def checker(self) -> Checker:
        rules = self.layout.rules
        classifier = (
            ClauseClassifier.from_folder(rules / "examples", cache=self.settings.models_dir, compliant=self.approved_phrasing())
            if self.settings.learned_checks
            else None
        )
        return Checker(load_rules(rules), self.policies, classifier, roles=load_roles(rules / "roles.yaml"),
                       calibration=load_calibration(rules / "calibration.yaml"))

    @cached_property
    def fixer(self) -> Fixer:
        return Fixer(self.checker, self.phrasebook)

    @cached_property
    def adjudicator(self):
        """The LLM's second opinion on the checker's findings, when an LLM is configured (else None)."""
        if self.llm is None or not self.settings.llm_adjudication:
            return None

        return Adjudicator(self.llm, self.checker.category_rule, self.checker.calibration)

    def adjudicated(self, text: str, result: CheckResult, *, always: bool = False) -> CheckResult:
        """One LLM call for a draft with findings to judge, or (`always`) for a final check, which may also
        surface what the rules missed; rules alone without an LLM."""
        if self.adjudicator is None or not (always or self.adjudicator.judged(result)):
            return result
        return self.adjudicator.adjudicate(text, result)

    # ---------------------------------------------------------------- analysis

    @cached_property
    def reading(self) -> ReadingLexicon:
        return ReadingLexicon(self.layout.analysis / "reading.yaml", load_aspects(self.layout.analysis / "aspects.yaml"))

    @cached_property
    def classifier(self) -> ComplaintClassifier:
        """Policy category and problem type by the nearest labelled examples (dense vectors when the index
        has them, lexical neighbours otherwise)."""
        return ComplaintClassifier(load_examples(self.layout.examples), self.policies,
                                   load_classifier_settings(self.layout.analysis / "classifier.yaml"), self._example_vectors())

    def _example_vectors(self) -> dict[str, np.ndarray]:
        try:
            embedder = self.index.embedder
        except (IndexMissing, StoreUnavailable):
            return {}
        if embedder is None:
            return {}
        slug = embedder_slug(embedder)
        shipped = load_vectors(self.layout.examples / f"vectors-{slug}.npz")
        return shipped | load_vectors(vectors_path(self.settings.data_dir, slug))

    def _vector_of(self, text: str) -> list[float] | None:
        """The complaint's query vector, the very one retrieval computes for it (cached by the embedder)."""
        if not self.classifier.dense:
            return None
        try:
            embedder = self.index.embedder
            return embedder.get_query_embedding(normalise(example_query_text(text))) if embedder is not None else None
        except (IndexMissing, StoreUnavailable):
            return None

    @cached_property
    def analyzer(self) -> Analyzer:
        return Analyzer(self.layout.analysis / "signals.yaml", self.policies, classifier=self.classifier,
                        reading=self.reading, vector_of=self._vector_of)

    @cached_property
    def conversation_reader(self) -> ConversationReader:
        # per-turn readings use lexicons and lexical neighbours only: an embedding per turn would slow every refresh
        analyzer = Analyzer(self.layout.analysis / "signals.yaml", self.policies, classifier=self.classifier)
        return ConversationReader(analyzer, self.checker, self.settings.default_chinese_script)

    # ---------------------------------------------------------------- drafting

    @cached_property
    def llm(self):
        """The LLM engine when an endpoint is configured, else None (the composer drafts)."""
        if not self.settings.llm_base_url:
            return None

        return LLMEngine(self.settings)

    @cached_property
    def composer(self) -> Composer:
        replies = load_replybook(self.layout.drafting)
        return Composer(replies, self.phrasebook, is_clean=lambda text, lang: not self.checker.check(text, lang).violations)

    @cached_property
    def rewriter(self) -> Rewriter:
        return Rewriter(load_controls(self.layout.rewrite_controls), lambda text, lang: self.checker.check(text, lang).moves_present)

    # ---------------------------------------------------------------- knowledge

    @property
    def index(self) -> KnowledgeIndex:
        """The knowledge index, opened on first use (raises IndexMissing if it was never built)."""
        if self._index is None:
            self._index = self.open_index()
        return self._index

    def open_index(self, create: bool = False) -> KnowledgeIndex:
        return KnowledgeIndex(self.settings, create=create, expander=load_lexicon(self.layout.retrieval / "lexicon.yaml"),
                              fusion=load_fusion(self.layout.retrieval / "fusion.yaml"))

    def use_index(self, index: KnowledgeIndex) -> None:
        """A rebuilt index: the classifier and the analyzer are made again with its example vectors."""
        self._index = index
        self.__dict__.pop("classifier", None)
        self.__dict__.pop("analyzer", None)
