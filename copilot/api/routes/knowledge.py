"""Knowledge search: `/v1/kb/search` and `/v1/kb/explain`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from copilot.api.deps import Service
from copilot.retrieval import Passage, SearchAnswer, SearchFilters

router = APIRouter(prefix="/v1/kb", tags=["v1"])


def search_query(
    q: str = Query(..., description="What to look for: a question or the complaint itself."),
    k: int = Query(5, ge=1, le=50),
    kind: list[str] | None = Query(None),
    domain: list[str] | None = Query(None),
    language: list[str] | None = Query(None),
) -> tuple[str, int, SearchFilters]:
    return q, k, SearchFilters(kind=kind, domain=domain, language=language)


SearchQuery = Annotated[tuple[str, int, SearchFilters], Depends(search_query)]


def _search(copilot, response: Response, query: tuple[str, int, SearchFilters]) -> SearchAnswer:
    q, k, filters = query
    answer = copilot.explain_search(q, k=k, filters=filters)
    if answer.notices:
        # the list answer has no room for them; a header keeps its shape for existing clients
        response.headers["X-Copilot-Notice"] = " | ".join(answer.notices).encode("ascii", "ignore").decode()
    return answer


@router.get("/search", response_model=list[Passage])
def kb_search(response: Response, copilot: Service, query: SearchQuery):
    """The passages, best first. A notice (e.g. a question in a language the knowledge is not in) comes in
    the `X-Copilot-Notice` header; `/v1/kb/explain` returns it in the body with the rest of the explanation."""
    return _search(copilot, response, query).passages


@router.get("/explain", response_model=SearchAnswer)
def kb_explain(response: Response, copilot: Service, query: SearchQuery):
    """The same search, explained: what the question was expanded with (lexicon concepts and terms), which
    channel found each passage at which rank, and notices."""
    return _search(copilot, response, query)
