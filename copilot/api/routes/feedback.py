"""The agent's verdict on a draft: `/v1/feedback`."""

from __future__ import annotations

from fastapi import APIRouter

from copilot.api.deps import Client, Service
from copilot.audit import Feedback

router = APIRouter(tags=["v1"])


@router.post("/v1/feedback")
def feedback(body: Feedback, copilot: Service, client: Client):
    """The agent's verdict on a draft, and optionally the text they finally sent (checked and logged)."""
    return copilot.feedback(body, client=client)
