"""The HTTP API for CRMs: a thin FastAPI layer over the `Copilot` service."""

from copilot.api.app import create_app

__all__ = ["create_app"]
