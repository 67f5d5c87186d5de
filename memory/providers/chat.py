"""The chat model's one call the library makes: a completion constrained to a JSON schema (the
LLM extractor's), over the openai SDK, so OpenAI, Ollama, vLLM, llama.cpp and the test stub look
the same. Streaming replies is the chat app's (chatapp/reply.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

import openai

from ..config import LLMConfig
from ..errors import ConfigError, ModelError
from .clients import OpenAIClients

__all__ = ["ChatClient", "parse_json_object"]

logger = logging.getLogger(__name__)

Message = dict[str, str]


class ChatClient:
    """An OpenAI-compatible chat model for JSON calls."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._schema_supported = True
        self._clients: OpenAIClients | None = None

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def clients(self) -> OpenAIClients:
        """The SDK's sync client, and its async one inside an `AsyncMemory` call (clients.py)."""
        if self.config.provider == "local":
            raise ConfigError(
                "the offline chat model is too small to extract memories: use the heuristic extractor "
                "(the default without an API key), or set OPENAI_API_KEY / OPENAI_BASE_URL for the LLM extractor"
            )
        if self._clients is None:
            self._clients = OpenAIClients(
                api_key=self.config.api_key or "not-needed",
                base_url=self.config.base_url,
                timeout=self.config.timeout,
                max_retries=self.config.max_retries,
            )
        return self._clients

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
            response = self.clients.run(
                lambda client: client.chat.completions.create(
                    model=self.config.model,
                    messages=messages,
                    temperature=self.config.temperature,
                    response_format=response_format,
                )
            )
        except openai.BadRequestError:
            raise
        except openai.APIError as exc:
            raise ModelError(f"chat request to {self.where} failed: {exc}") from exc
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""

    async def aclose(self) -> None:
        if self._clients is not None:
            await self._clients.aclose()

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
