"""The knowledge base: documents on disk, their cleaning and chunking, and the structured content
(policies, phrasebook) that the drafting and checking stages read."""

from copilot.knowledge.documents import Chunk, KnowledgeDocument, parse_front_matter
from copilot.knowledge.loader import LoadReport, load_folder

__all__ = ["Chunk", "KnowledgeDocument", "LoadReport", "load_folder", "parse_front_matter"]
