"""The `Copilot` service: the one object every face (API, side panel, CLI, eval runs) talks to."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from copilot.checking import Checker, CheckResult, Fixer, FixResult
from copilot.knowledge.loader import SourceError, load_folder
from copilot.knowledge.phrasebook import Phrasebook, load_phrasebook
from copilot.knowledge.policies import Level, PolicyBook, PolicyCategory, load_policies
from copilot.retrieval import IndexReport, KnowledgeIndex, Passage, SearchFilters
from copilot.retrieval.index import ProgressFn
from copilot.settings import Settings, get_settings

BUILTIN_SOURCE = "builtin:knowledge"


class Copilot:
    """Owns the pipeline: knowledge -> retrieval -> analysis -> drafting -> checking."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._index: KnowledgeIndex | None = None

    # ---------------------------------------------------------------- content

    @cached_property
    def policies(self) -> PolicyBook:
        return load_policies(self.settings.knowledge_dir / "policies")

    @cached_property
    def phrasebook(self) -> Phrasebook:
        return load_phrasebook(self.settings.knowledge_dir / "phrasebook")

    @cached_property
    def checker(self) -> Checker:
        from copilot.checking.learned import ClauseClassifier
        from copilot.checking.rules import load_rules

        rules = self.settings.knowledge_dir / "rules"
        classifier = ClauseClassifier.from_folder(rules / "examples") if self.settings.learned_checks else None
        return Checker(load_rules(rules), self.policies, classifier)

    @cached_property
    def fixer(self) -> Fixer:
        return Fixer(self.checker, self.phrasebook)

    # ---------------------------------------------------------------- checking

    def check(
        self,
        text: str,
        language: str | None = None,
        *,
        complaint: str | None = None,
        level: Level = "agent",
        policy: PolicyCategory | str | None = None,
    ) -> CheckResult:
        """Check a draft or the agent's own text against the "no excuses, no blame" rules."""
        return self.checker.check(text, language, complaint=complaint, level=level, policy=policy)

    def fix(
        self,
        text: str,
        language: str | None = None,
        *,
        complaint: str | None = None,
        level: Level = "agent",
        policy: PolicyCategory | str | None = None,
    ) -> FixResult:
        """Rewrite the flagged spans deterministically (phrasebook) and re-check until clean."""
        return self.fixer.fix(text, language, complaint=complaint, level=level, policy=policy)

    # ---------------------------------------------------------------- knowledge

    @property
    def index(self) -> KnowledgeIndex:
        """The knowledge index, opened on first use (raises IndexMissing if it was never built)."""
        if self._index is None:
            self._index = KnowledgeIndex(self.settings)
        return self._index

    def index_knowledge(self, paths: Sequence[Path | str] = (), progress: ProgressFn | None = None) -> IndexReport:
        """Index the shipped knowledge base (no paths) or the given folders/files.

        Re-running is cheap: only new or changed chunks are embedded, and chunks whose source file
        disappeared are removed. Bad files are reported in the result and skipped.
        """
        sources = [(Path(p), str(Path(p).expanduser().resolve())) for p in paths] or [
            (self.settings.knowledge_dir, BUILTIN_SOURCE)
        ]
        documents, skipped, notices = [], [], []
        for path, source in sources:
            report = load_folder(path, source=source)
            documents.extend(report.documents)
            skipped.extend(s.model_dump() for s in report.skipped)
            notices.extend(report.notices)
        if not documents:
            where = ", ".join(str(p) for p, _ in sources)
            raise SourceError(
                f"no readable documents in {where} (supported: .md, .txt, .html)"
                + (f"; {len(skipped)} file(s) skipped, first: {skipped[0]['path']}: {skipped[0]['reason']}" if skipped else "")
            )
        index = KnowledgeIndex(self.settings, create=True)
        result = index.update(documents, [s for _, s in sources], progress=progress)
        self._index = index
        result.skipped = skipped
        result.notices = notices + result.notices
        return result

    def search_knowledge(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[Passage]:
        """Hybrid search over the knowledge base."""
        return self.index.search(query, k=k, filters=filters)
