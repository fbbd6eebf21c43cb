"""The LLM engine: any OpenAI-compatible chat endpoint through the `openai` SDK.

Structured output is validated with pydantic: a JSON schema is requested where the server supports it,
JSON mode plus a lenient repair where it does not. Calls have a timeout and bounded retries; any failure
raises `LLMError`, and the caller falls back to the composer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from string import Template
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from copilot.settings import Settings

T = TypeVar("T", bound=BaseModel)


class LLMError(RuntimeError):
    """The LLM could not give a usable answer (unreachable, timed out, rate-limited, invalid output)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class DraftText(BaseModel):
    text: str
    citations: list[str] = []


class LLMDrafts(BaseModel):
    empathetic_reply: DraftText
    expectation_lowering: DraftText
    compensation: DraftText


class Rewrite(BaseModel):
    text: str


class LLMBrief(BaseModel):
    what_happened: str
    customer_wants: str
    approach: str
    opening_line: str


class LLMReading(BaseModel):
    needs: list[str] = []
    anger: int = 0
    customer_type: str = "rational"
    hard_type: str | None = None
    escalation: list[str] = []
    category: str | None = None
    injection: bool = False


def repair_json(content: str) -> str:
    """Extract the JSON object from an answer wrapped in prose or code fences."""
    content = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", content, re.DOTALL)
    if fenced:
        content = fenced.group(1).strip()
    start, end = content.find("{"), content.rfind("}")
    if start == -1 or end <= start:
        raise LLMError("invalid_output", "no JSON object in the answer")
    return content[start : end + 1]


class Prompts:
    """Prompt templates in prompts/ (`$name` placeholders), editable without touching code."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def render(self, name: str, **values: object) -> str:
        template = Template((self.folder / f"{name}.md").read_text(encoding="utf-8"))
        return template.safe_substitute({k: str(v) for k, v in values.items()})


class LLMEngine:
    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI  # the client library loads only when an LLM endpoint is set

        if not settings.llm_base_url:
            raise LLMError("not_configured", "set COPILOT_LLM_BASE_URL")
        self.settings = settings
        self.model = settings.llm_model
        self.client = OpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout,
            max_retries=settings.llm_retries,
        )
        self.prompts = Prompts(settings.prompts_dir)
        self._schema_supported = True

    # ------------------------------------------------------------------ tokens

    @staticmethod
    def count_tokens(text: str) -> int:
        import tiktoken  # encodings come from llama-index-core's bundled cache (see copilot.runtime)

        return len(tiktoken.get_encoding("cl100k_base").encode(text, disallowed_special=()))

    def fit(self, parts: list[str], budget: int) -> list[str]:
        """Keep whole parts, in order, while they fit in `budget` tokens."""
        kept, used = [], 0
        for part in parts:
            cost = self.count_tokens(part)
            if used + cost > budget:
                break
            kept.append(part)
            used += cost
        return kept

    # ------------------------------------------------------------------ calls

    def structured(self, system: str, user: str, model: type[T]) -> T:
        """A JSON answer validated against `model` (the stream of `structured_chunks`, drained)."""
        return self.validate("".join(self.structured_chunks(system, user, model)), model)

    @staticmethod
    def validate(content: str, model: type[T]) -> T:
        if not content.strip():
            raise LLMError("invalid_output", "empty answer")
        try:
            return model.model_validate_json(repair_json(content))
        except (ValidationError, ValueError) as exc:
            raise LLMError("invalid_output", str(exc)[:300]) from exc

    def structured_chunks(self, system: str, user: str, model: type[BaseModel], *, stream: bool | None = None) -> Iterator[str]:
        """The raw JSON answer as it arrives: token by token when streaming (`stream`, default the
        COPILOT_LLM_STREAM setting), else in one piece. A JSON schema is asked for where the server supports
        it, JSON mode where it does not. Every failure is an LLMError."""
        import openai  # its error types, loaded with the client above

        stream = self.settings.llm_stream if stream is None else stream
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        formats = []
        if self._schema_supported:
            formats.append(
                {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": model.model_json_schema(), "strict": False}}
            )
        formats.append({"type": "json_object"})
        last: Exception | None = None
        for response_format in formats:
            started = False
            try:
                if stream:
                    for piece in self._stream(messages, response_format):
                        started = True
                        yield piece
                    return
                response = self.client.chat.completions.create(
                    model=self.model, messages=messages, response_format=response_format, temperature=0.3  # type: ignore[arg-type]
                )
                if isinstance(response, str) or not getattr(response, "choices", None):
                    raise LLMError("invalid_output", "the answer is not a chat completion")
                content = response.choices[0].message.content
                if not content:
                    raise LLMError("invalid_output", "empty answer")
                yield content
                return
            except openai.BadRequestError as exc:
                # a server without JSON-schema support answers 400: fall back to JSON mode
                last = exc
                if response_format["type"] == "json_schema" and not started:
                    self._schema_supported = False
                    continue
                raise LLMError("rejected", str(exc)[:300]) from exc
            except openai.APITimeoutError as exc:
                raise LLMError("timeout", f"no answer within {self.settings.llm_timeout:g} s") from exc
            except openai.RateLimitError as exc:
                raise LLMError("rate_limited", str(exc)[:300]) from exc
            except openai.APIStatusError as exc:
                raise LLMError("server_error", f"HTTP {exc.status_code}") from exc
            except openai.APIConnectionError as exc:
                raise LLMError("unreachable", str(exc)[:300]) from exc
            except openai.APIError as exc:
                raise LLMError("server_error", str(exc)[:300]) from exc
            except (json.JSONDecodeError, ValueError, AttributeError) as exc:
                raise LLMError("invalid_output", str(exc)[:300]) from exc
        raise LLMError("rejected", str(last)[:300])

    def _stream(self, messages: list[dict], response_format: dict) -> Iterator[str]:
        stream = self.client.chat.completions.create(
            model=self.model, messages=messages, response_format=response_format, stream=True, temperature=0.3  # type: ignore[arg-type]
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
