"""One frozen configuration model, built from a Mem0-style dict or from the environment.

The environment is always passed in (`env=`), so tests build configs directly and a
developer's shell never leaks into them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

__all__ = ["EmbedderConfig", "LLMConfig", "MemoryConfig", "VectorStoreConfig"]

DEFAULT_OPENAI_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
LOCAL_CHAT_MODEL = "SmolLM2-135M-Instruct"
LOCAL_EMBEDDING_MODEL = "multilingual-e5-small"
DEFAULT_MILVUS_URI = "./data/milvus.db"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

_TRUE = {"1", "true", "yes", "on"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VectorStoreConfig(_Frozen):
    provider: Literal["milvus"] = "milvus"
    collection_name: str = "memories"
    embedding_model_dims: int | None = None
    uri: str = DEFAULT_MILVUS_URI
    token: str | None = None
    metric_type: Literal["L2", "COSINE", "IP"] = "L2"

    @model_validator(mode="before")
    @classmethod
    def _url_is_an_alias_of_uri(cls, data: Any) -> Any:
        if isinstance(data, dict) and "url" in data:
            data = dict(data)
            url = data.pop("url")
            data.setdefault("uri", url)
        return data

    @field_validator("metric_type", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("collection_name")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        if not value or not value.replace("_", "a").isalnum() or value[0].isdigit():
            raise ValueError(
                f"collection_name {value!r} must start with a letter or '_' and hold only letters, digits and '_'"
            )
        return value

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("uri is empty: give a milvus-lite file path or http(s)://host:port")
        if "://" in value and urlparse(value).scheme not in {"http", "https", "tcp", "grpc"}:
            raise ValueError(
                f"uri {value!r} has an unknown scheme: use a file path ending in .db or http(s)://host:port"
            )
        if "://" not in value and not value.endswith(".db"):
            raise ValueError(f"milvus-lite path {value!r} must end in .db (e.g. ./milvus.db)")
        return value

    @property
    def is_lite(self) -> bool:
        """True for a local milvus-lite file, False for a Milvus server or Zilliz URI."""
        return "://" not in self.uri


class EmbedderConfig(_Frozen):
    provider: Literal["openai", "local"] = "local"
    model: str = LOCAL_EMBEDDING_MODEL
    api_key: str | None = None
    base_url: str | None = None
    dims: int | None = Field(default=None, gt=0)
    timeout: float = 30.0


class LLMConfig(_Frozen):
    provider: Literal["openai", "local"] = "local"
    model: str = LOCAL_CHAT_MODEL
    api_key: str | None = None
    base_url: str | None = None
    temperature: float = 0.0
    timeout: float = 60.0
    max_retries: int = Field(default=2, ge=0)
    # Longest chat reply (unset: 200 for the offline model, which can ramble to its context limit).
    max_tokens: int | None = Field(default=None, ge=1)
    # The offline model only: llama.cpp's repetition penalties (repeat, frequency, DRY) and a stop
    # when the reply repeats itself. Off: plain sampling, as before these controls existed.
    repetition_controls: bool = True


class MemoryConfig(_Frozen):
    vector_store: VectorStoreConfig = VectorStoreConfig()
    embedder: EmbedderConfig = EmbedderConfig()
    llm: LLMConfig = LLMConfig()
    extractor: Literal["llm", "heuristic"] = "heuristic"
    history_db_path: str | None = None
    version: str = "v1.1"
    candidate_limit: int = Field(default=10, ge=1, le=100)
    # "hybrid": vector and BM25 keyword search fused by reciprocal rank (k = rrf_k); "vector": the
    # tutorial's pure vector order. Chosen on LoCoMo's dev split: see bench/locomo.py and the README.
    search_mode: Literal["hybrid", "vector"] = "hybrid"
    rrf_k: int = Field(default=10, ge=1)
    max_operations: int = Field(default=50, ge=1)
    local_only: bool = False

    @model_validator(mode="after")
    def _models_stay_local_when_asked(self) -> MemoryConfig:
        if self.local_only:
            for part, url in (("llm", self.llm.base_url), ("embedder", self.embedder.base_url)):
                if url and urlparse(url).hostname not in LOOPBACK_HOSTS:
                    raise ValueError(f"local_only is set but {part}.base_url {url!r} is not on this machine")
            for part, provider, url in (
                ("llm", self.llm.provider, self.llm.base_url),
                ("embedder", self.embedder.provider, self.embedder.base_url),
            ):
                if provider == "openai" and not url:
                    raise ValueError(f"local_only is set but {part} would call api.openai.com")
        return self

    @model_validator(mode="after")
    def _llm_extraction_needs_a_capable_model(self) -> MemoryConfig:
        if self.extractor == "llm" and self.llm.provider == "local":
            raise ValueError(
                "the LLM extractor needs an OpenAI-compatible chat model (llm provider 'openai', or "
                "OPENAI_API_KEY / OPENAI_BASE_URL); the offline model is too small: use extractor 'heuristic'"
            )
        return self

    @property
    def history_path(self) -> str:
        """The SQLite history file: beside a milvus-lite file, else in ./data."""
        if self.history_db_path:
            return self.history_db_path
        if self.vector_store.is_lite:
            return str(Path(self.vector_store.uri).with_suffix(".history.sqlite"))
        return str(Path("data") / f"{self.vector_store.collection_name}.history.sqlite")

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MemoryConfig:
        """Defaults from environment variables (see .env.example)."""
        return cls.from_dict({}, env=env)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> MemoryConfig:
        """Accept Mem0's config dict (`{"vector_store": {"provider", "config"}, ...}`).

        Parts missing from the dict come from the environment.
        """
        env = os.environ if env is None else env
        if not isinstance(config, Mapping):
            raise ConfigError(f"config must be a dict, not {type(config).__name__}")
        data: dict[str, Any] = {k: v for k, v in config.items()}
        for key in ("vector_store", "embedder", "llm"):
            if key in data:
                data[key] = _flatten_provider_block(key, data[key])
        env_defaults = _defaults_from_env(env)
        for key, value in env_defaults.items():
            if key in data and isinstance(value, dict) and isinstance(data[key], dict):
                explicit = data[key].get("provider")
                if key in ("llm", "embedder") and explicit and explicit != value.get("provider"):
                    # another provider than the environment's: only the connection settings carry over
                    inherited = _env_connection(env) if explicit == "openai" else {}
                    data[key] = {**{k: v for k, v in inherited.items() if v}, **data[key]}
                    continue
                data[key] = {**value, **data[key]}
            else:
                data.setdefault(key, value)
        if "extractor" not in config and "llm" in config and data["llm"].get("provider") == "openai":
            data["extractor"] = "llm"
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_readable(exc)) from None


def _flatten_provider_block(name: str, block: Any) -> dict[str, Any]:
    if not isinstance(block, Mapping):
        raise ConfigError(f"'{name}' must be a dict like {{'provider': ..., 'config': {{...}}}}")
    flat = {k: v for k, v in block.items() if k != "config"}
    inner = block.get("config") or {}
    if not isinstance(inner, Mapping):
        raise ConfigError(f"'{name}.config' must be a dict")
    flat.update(inner)
    if name == "vector_store" and "url" in flat:
        url = flat.pop("url")
        if flat.get("uri", url) != url:
            raise ConfigError("vector_store has both 'url' and 'uri' with different values: give one")
        flat["uri"] = url
    known = {"vector_store": ("milvus",), "embedder": ("openai", "local"), "llm": ("openai", "local")}
    provider = flat.get("provider")
    if provider is not None and provider not in known[name]:
        raise ConfigError(
            f"unknown {name} provider {provider!r}: use one of {', '.join(known[name])} "
            "(any OpenAI-compatible server, such as Ollama or vLLM, is 'openai' with base_url)"
        )
    if name == "llm" and provider == "local":
        flat.setdefault("model", LOCAL_CHAT_MODEL)
    if name == "embedder" and provider == "local":
        flat.setdefault("model", LOCAL_EMBEDDING_MODEL)
    return flat


def milvus_uri_from_env(env: Mapping[str, str]) -> str | None:
    """The Milvus URI the environment names: MEMORY_MILVUS_URI, else the older MILVUS_URI (see milvus_env.py)."""
    return env.get("MEMORY_MILVUS_URI") or env.get("MILVUS_URI") or None


def _env_connection(env: Mapping[str, str]) -> dict[str, str | None]:
    return {"api_key": env.get("OPENAI_API_KEY") or None, "base_url": env.get("OPENAI_BASE_URL") or None}


def _defaults_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    connection = _env_connection(env)
    api_key, base_url = connection["api_key"], connection["base_url"]
    remote = bool(api_key or base_url)
    llm_provider = env.get("MEMORY_LLM_PROVIDER") or ("openai" if remote else "local")
    embedder_provider = env.get("MEMORY_EMBEDDER_PROVIDER") or ("openai" if remote else "local")
    for name, provider in (("MEMORY_LLM_PROVIDER", llm_provider), ("MEMORY_EMBEDDER_PROVIDER", embedder_provider)):
        if provider not in ("openai", "local"):
            raise ConfigError(f"{name}={provider!r} is unknown: use 'openai' or 'local'")

    llm: dict[str, Any] = {"provider": llm_provider}
    if llm_provider == "openai":
        llm.update(
            model=env.get("MEMORY_LLM_MODEL") or DEFAULT_OPENAI_CHAT_MODEL,
            api_key=api_key,
            base_url=env.get("MEMORY_LLM_BASE_URL") or base_url,
        )
    else:
        llm["model"] = LOCAL_CHAT_MODEL
    for name, key in (
        ("MEMORY_LLM_MAX_TOKENS", "max_tokens"),
        ("MEMORY_LLM_TIMEOUT", "timeout"),
        ("MEMORY_LLM_MAX_RETRIES", "max_retries"),
        ("MEMORY_LLM_REPETITION_CONTROLS", "repetition_controls"),
    ):
        if env.get(name):
            llm[key] = env[name]

    embedder: dict[str, Any] = {"provider": embedder_provider}
    if embedder_provider == "openai":
        embedder.update(
            model=env.get("MEMORY_EMBEDDING_MODEL") or DEFAULT_OPENAI_EMBEDDING_MODEL,
            api_key=api_key,
            base_url=env.get("MEMORY_EMBEDDING_BASE_URL") or base_url,
        )
        if env.get("MEMORY_EMBEDDING_DIMS"):
            embedder["dims"] = env["MEMORY_EMBEDDING_DIMS"]

    vector_store: dict[str, Any] = {"uri": milvus_uri_from_env(env) or DEFAULT_MILVUS_URI}
    if env.get("MILVUS_TOKEN"):
        vector_store["token"] = env["MILVUS_TOKEN"]
    if env.get("MEMORY_COLLECTION"):
        vector_store["collection_name"] = env["MEMORY_COLLECTION"]
    if env.get("MEMORY_METRIC"):
        vector_store["metric_type"] = env["MEMORY_METRIC"]

    defaults: dict[str, Any] = {"llm": llm, "embedder": embedder, "vector_store": vector_store}
    extractor = env.get("MEMORY_EXTRACTOR") or ("llm" if llm_provider == "openai" else "heuristic")
    if extractor not in ("llm", "heuristic"):
        raise ConfigError(f"MEMORY_EXTRACTOR={extractor!r} is unknown: use 'llm' or 'heuristic'")
    defaults["extractor"] = extractor
    if env.get("MEMORY_SEARCH_MODE"):
        defaults["search_mode"] = env["MEMORY_SEARCH_MODE"].strip().lower()
    if env.get("MEMORY_HISTORY_DB"):
        defaults["history_db_path"] = env["MEMORY_HISTORY_DB"]
    if env.get("MEMORY_LOCAL_ONLY"):
        defaults["local_only"] = env["MEMORY_LOCAL_ONLY"].strip().lower() in _TRUE
    return defaults


def _readable(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "config"
        lines.append(f"{where}: {error['msg']}")
    return "invalid memory configuration: " + "; ".join(lines)
