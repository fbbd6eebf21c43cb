"""What routes are handed: the service from the application's state, and who is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from copilot.service import Copilot


def service(request: Request) -> Copilot:
    return request.app.state.copilot


def client(request: Request) -> str | None:
    """The API key's short digest (None without keys: the request comes from loopback)."""
    return request.state.client


Service = Annotated[Copilot, Depends(service)]
Client = Annotated[str | None, Depends(client)]
