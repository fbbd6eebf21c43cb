from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from copilot import __version__
from copilot.api.deps import Service
from copilot.errors import Unavailable

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(copilot: Service) -> JSONResponse:
    try:
        passages = copilot.index.count()
    except Unavailable as exc:
        return JSONResponse(status_code=503, content={"ready": False, "index": str(exc)})
    try:
        database = copilot.stores.ping()
    except Unavailable as exc:  # a load balancer stops sending requests here until it is back
        return JSONResponse(status_code=503, content={"ready": False, "database": str(exc)})
    body: dict = {"ready": True, "index_passages": passages, "database": database, "engine": "composer",
                  "metrics": copilot.metrics}
    if copilot.llm is not None:
        # the LLM is optional: unreachable means drafts come from the composer, not "not ready"
        try:
            copilot.llm.client.with_options(timeout=3, max_retries=0).models.list()
            body["engine"], body["llm"] = "llm", "reachable"
        except Exception as exc:  # any failure to reach it is reported, none is fatal
            body["llm"] = f"unreachable ({exc.__class__.__name__}): drafts will come from the composer"
    return JSONResponse(body)
