"""The HTTP API for CRMs: routers by area over the `Copilot` service, one guard, one error format. It drafts
and checks; it never sends anything to a customer."""

from __future__ import annotations

from fastapi import FastAPI

from copilot import __version__
from copilot.api.errors import install_error_handlers
from copilot.api.routes import conversations, feedback, health, knowledge, suggestions
from copilot.api.security import Guard, hash_key
from copilot.service import Copilot

__all__ = ["create_app", "hash_key"]


def create_app(service: Copilot | None = None) -> FastAPI:
    copilot = service or Copilot()
    app = FastAPI(
        title="complaint-copilot API",
        version=__version__,
        description="Drafts and checks replies to customer complaints for a CRM. It never sends anything to a customer.",
    )
    app.state.copilot = copilot
    # the stores (and their migrations) open now: a wrong database URL, password or schema stops the start with
    # one line instead of failing the first request
    copilot.stores.open()
    settings = copilot.settings
    app.add_middleware(Guard, key_hashes=settings.api_key_hashes, limiter=copilot.stores.rate_limiter,
                       max_body=settings.max_request_bytes)
    install_error_handlers(app)
    for router in (health.router, suggestions.router, conversations.router, knowledge.router, feedback.router):
        app.include_router(router)
    return app
