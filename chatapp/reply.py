"""The reply: the chat model's answer streamed token by token, and the controls that keep the
small offline model from running away (llama.cpp's DRY sampling, a stop when the reply repeats
itself, an end at the first sentence end past a soft cap)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai

from chatapp.local_model import local_chat_base_url
from chatapp.repetition import RepetitionGuard, ends_sentence
from memory import LLMConfig

__all__ = ["LOCAL_MAX_TOKENS", "ReplyModel", "StreamReport"]

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


class ReplyModel:
    """The chat model that answers the user: OpenAI, Ollama, vLLM, llama.cpp, the local SmolLM2, the stub."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._client: openai.AsyncOpenAI | None = None

    @property
    def is_local(self) -> bool:
        return self.config.provider == "local"

    @property
    def where(self) -> str:
        """Where the chat model is, for messages: its base URL, the local model, or OpenAI."""
        return self.config.base_url or ("the local model" if self.is_local else "api.openai.com")

    def base_url(self) -> str | None:
        """The model's base URL; the local model's server is started on first use."""
        return local_chat_base_url() if self.is_local else self.config.base_url

    @property
    def client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            self._client = openai.AsyncOpenAI(
                api_key=self.config.api_key or "not-needed",
                base_url=self.base_url(),
                timeout=self.config.timeout,
                max_retries=self.config.max_retries,
            )
        return self._client

    async def stream(
        self, messages: list[Message], temperature: float = 0.7, report: StreamReport | None = None
    ) -> AsyncIterator[str]:
        """Yield the reply's text as it arrives; the offline model's reply stops when it repeats itself."""
        report = report if report is not None else StreamReport()
        create: Any = self.client.chat.completions.create
        max_tokens = self.config.max_tokens or (LOCAL_MAX_TOKENS if self.is_local else None)
        extra: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}
        guard = RepetitionGuard() if self.is_local and self.config.repetition_controls else None
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
