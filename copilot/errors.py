"""The errors a user can act on, in four kinds. Each error type names itself with a `code` for programs and
says in its message what to do; each face (API, CLI, panel) words the kind for its users: the API as an
HTTP status, the CLI as an exit code, the panel as a notice."""

from __future__ import annotations

from typing import ClassVar, Literal

Kind = Literal["invalid", "not_found", "conflict", "unavailable"]


class CopilotError(Exception):
    code: ClassVar[str] = "error"
    kind: ClassVar[Kind] = "invalid"


class InvalidInput(CopilotError, ValueError):
    """What was given cannot be used as it is."""


class NotFound(CopilotError, LookupError):
    kind = "not_found"


class Conflict(CopilotError):
    kind = "conflict"


class Unavailable(CopilotError, RuntimeError):
    """Something the copilot depends on cannot be reached now; trying again later may work."""

    kind = "unavailable"
