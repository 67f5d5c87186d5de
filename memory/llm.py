"""Chat client over the openai SDK: JSON-schema calls for extraction, streaming for the app."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai

from .config import LLMConfig
from .errors import ModelError
from .repetition import RepetitionGuard, ends_sentence

__all__ = ["ChatClient", "StreamReport"]

logger = logging.getLogger(__name__)

Message = dict[str, str]
LOCAL_MAX_TOKENS = 200
# Past this many tokens the offline model's reply ends at its next sentence end: SmolLM2-135M
# rambles on (to the hard cap above in 15 of 57 replies of bench/replies.py without it).
LOCAL_SOFT_MAX_TOKENS = 100
# llama.cpp sampling for the offline model: DRY, which penalizes extending any sequence that
# already occurred, stops SmolLM2-135M's loops. Chosen on bench/replies.py's prompts (19 replies
# each): DRY alone capped 0 and was cut by the repetition stop twice; adding repeat (1.15) and
# frequency (0.3) penalties made 15 of 20 replies ramble to the cap in broken text (they push
# common tokens, "." among them, out of reach); no controls at temperature 0.3 looped 9 times.
LOCAL_SAMPLING: dict[str, Any] = {
    "dry_multiplier": 0.8,
    "dry_base": 1.75,
    "dry_allowed_length": 2,
    "dry_penalty_last_n": 4096,
}


@dataclass
class StreamReport:
    """How a streamed reply ended: the server's finish reason, pieces received, a repetition stop."""

    finish_reason: str | None = None
    pieces: int = 0
    stopped_repeating: bool = False
    stopped_at_soft_cap: bool = False
    guarded: bool = False  # the repetition controls were on: show the reply through `without_repeat`


class ChatClient:
    """OpenAI-compatible chat: OpenAI, Ollama, vLLM, llama.cpp, the local SmolLM2, the stub."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._schema_supported = True
        self._sync: openai.OpenAI | None = None
        self._async: openai.AsyncOpenAI | None = None

    @property
    def model(self) -> str:
        return self.config.model

    def base_url(self) -> str | None:
        if self.config.provider == "local":
            from .local_llm import local_chat_base_url

            return local_chat_base_url()
        return self.config.base_url

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self.config.api_key or "not-needed",
            "base_url": self.base_url(),
            "timeout": self.config.timeout,
            "max_retries": self.config.max_retries,
        }

    @property
    def sync_client(self) -> openai.OpenAI:
        if self._sync is None:
            self._sync = openai.OpenAI(**self._client_kwargs())
        return self._sync

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        if self._async is None:
            self._async = openai.AsyncOpenAI(**self._client_kwargs())
        return self._async

    def complete_json(self, messages: list[Message], name: str, schema: dict[str, Any]) -> str:
        """One chat completion constrained to `schema`; returns the raw content.

        Structured output first; a server that rejects `json_schema` gets `json_object`
        from then on (the prompt itself describes the shape).
        """
        if self._schema_supported:
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True},
            }
            try:
                return self._complete(messages, response_format)
            except openai.BadRequestError as exc:
                logger.warning("%s rejected json_schema (%s); falling back to json_object", self.where, exc)
                self._schema_supported = False
        return self._complete(messages, {"type": "json_object"})

    def _complete(self, messages: list[Message], response_format: dict[str, Any]) -> str:
        try:
            create: Any = self.sync_client.chat.completions.create
            response = create(
                model=self.config.model,
                messages=messages,
                temperature=self.config.temperature,
                response_format=response_format,
            )
        except openai.BadRequestError:
            raise
        except openai.APIError as exc:
            raise ModelError(f"chat request to {self.where} failed: {exc}") from exc
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""

    async def stream(
        self, messages: list[Message], temperature: float = 0.7, report: StreamReport | None = None
    ) -> AsyncIterator[str]:
        """Yield the reply's text as it arrives; the offline model's reply stops when it repeats itself."""
        report = report if report is not None else StreamReport()
        create: Any = self.async_client.chat.completions.create
        local = self.config.provider == "local"
        max_tokens = self.config.max_tokens or (LOCAL_MAX_TOKENS if local else None)
        extra: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}
        guard = RepetitionGuard() if local and self.config.repetition_controls else None
        if guard is not None:
            extra["extra_body"] = LOCAL_SAMPLING
            report.guarded = True
        stream = await create(model=self.config.model, messages=messages, temperature=temperature, stream=True, **extra)
        try:
            async for chunk in stream:
                if not chunk.choices:
                    continue
                report.finish_reason = chunk.choices[0].finish_reason or report.finish_reason
                piece = chunk.choices[0].delta.content
                if not piece:
                    continue
                report.pieces += 1
                if guard is not None and guard.repeats(piece):
                    report.stopped_repeating = True
                    return
                yield piece
                if guard is not None and report.pieces >= LOCAL_SOFT_MAX_TOKENS and ends_sentence(piece):
                    report.stopped_at_soft_cap = True
                    return
        finally:
            await stream.close()

    @property
    def where(self) -> str:
        """Where the chat model is, for messages: its base URL, the local model, or OpenAI."""
        return self.config.base_url or ("the local model" if self.config.provider == "local" else "api.openai.com")


def parse_json_object(raw: str) -> Any:
    """Parse a model's JSON, tolerating a ```json fence around it."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.strip("`")
        if text.lower().startswith("json"):
            text = text[4:]
    return json.loads(text)
