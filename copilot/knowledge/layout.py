"""Where each kind of content lives under `knowledge/`: the one place that knows the folder's layout
(knowledge/README.md describes each file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KnowledgeLayout:
    root: Path

    @property
    def policies(self) -> Path:
        return self.root / "policies"

    @property
    def phrasebook(self) -> Path:
        return self.root / "phrasebook"

    @property
    def rules(self) -> Path:
        return self.root / "rules"

    @property
    def analysis(self) -> Path:
        return self.root / "analysis"

    @property
    def examples(self) -> Path:
        """Labelled example complaints (and their shipped vectors) for the classifier."""
        return self.analysis / "examples"

    @property
    def drafting(self) -> Path:
        return self.root / "drafting"

    @property
    def retrieval(self) -> Path:
        return self.root / "retrieval"

    @property
    def rewrite_controls(self) -> Path:
        return self.root / "rewrite" / "controls.yaml"

    @property
    def brief(self) -> Path:
        return self.root / "brief" / "brief.yaml"
