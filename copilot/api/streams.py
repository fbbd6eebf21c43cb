from __future__ import annotations

from collections.abc import Iterable

from fastapi.responses import StreamingResponse

from copilot.drafting.streaming import StreamEvent


def server_sent_events(events: Iterable[StreamEvent]) -> StreamingResponse:
    """Server-sent events, one JSON object per event (`event:` names its type)."""

    def body():
        for event in events:
            yield f"event: {event.type}\ndata: {event.model_dump_json(exclude_none=True)}\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
