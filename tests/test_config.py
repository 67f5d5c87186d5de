"""Configuration: Mem0's dict, the environment, and clear errors for wrong values."""

from __future__ import annotations

import pytest

from memory import ConfigError, MemoryConfig


def test_tutorial_config_with_a_key_uses_openai_models() -> None:
    env = {"OPENAI_API_KEY": "sk-test"}
    config = MemoryConfig.from_dict(
        {
            "vector_store": {
                "provider": "milvus",
                "config": {"collection_name": "q", "embedding_model_dims": "1536", "url": "./milvus.db"},
            },
            "version": "v1.1",
        },
        env=env,
    )
    assert config.vector_store.uri == "./milvus.db" and config.vector_store.embedding_model_dims == 1536
    assert (config.llm.provider, config.llm.model, config.llm.api_key) == ("openai", "gpt-4o-mini", "sk-test")
    assert (config.embedder.provider, config.embedder.model) == ("openai", "text-embedding-3-small")
    assert config.extractor == "llm"
    assert config.history_path == "milvus.history.sqlite"


def test_no_key_means_offline_models_and_the_heuristic() -> None:
    config = MemoryConfig.from_env({})
    assert (config.llm.provider, config.embedder.provider, config.extractor) == ("local", "local", "heuristic")
    assert config.vector_store.uri == "./data/milvus.db"


def test_base_url_alone_selects_an_openai_compatible_server() -> None:
    config = MemoryConfig.from_env(
        {
            "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1",
            "MEMORY_LLM_MODEL": "llama3.2",
            "MEMORY_EMBEDDER_PROVIDER": "local",
        }
    )
    assert (config.llm.provider, config.llm.base_url, config.llm.model) == (
        "openai",
        "http://127.0.0.1:11434/v1",
        "llama3.2",
    )
    assert config.embedder.provider == "local"


def test_mem0_style_provider_blocks() -> None:
    config = MemoryConfig.from_dict(
        {
            "llm": {"provider": "openai", "config": {"model": "gpt-4.1-mini", "api_key": "k", "temperature": 0.1}},
            "embedder": {"provider": "local"},
        },
        env={},
    )
    assert (config.llm.model, config.llm.temperature, config.extractor) == ("gpt-4.1-mini", 0.1, "llm")
    assert config.embedder.model == "multilingual-e5-small"


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ({"llm": {"provider": "anthropic"}}, {}, "unknown llm provider 'anthropic'"),
        ({"vector_store": {"provider": "qdrant"}}, {}, "unknown vector_store provider 'qdrant'"),
        ({"vector_store": {"config": {"url": "ftp://host/x"}}}, {}, "unknown scheme"),
        ({"vector_store": {"config": {"url": "./milvus"}}}, {}, "must end in .db"),
        ({"vector_store": {"config": {"embedding_model_dims": "many"}}}, {}, "embedding_model_dims"),
        ({"vector_store": {"config": {"collection_name": "bad-name"}}}, {}, "collection_name"),
        ({"vector_store": {"config": {"metric_type": "HAMMING"}}}, {}, "metric_type"),
        ({"vector_store": {"config": {"url": "a.db", "uri": "b.db"}}}, {}, "both 'url' and 'uri'"),
        ({}, {"MEMORY_EXTRACTOR": "magic"}, "MEMORY_EXTRACTOR='magic' is unknown"),
        ({}, {"MEMORY_LLM_PROVIDER": "cohere"}, "MEMORY_LLM_PROVIDER='cohere' is unknown"),
        ({"unknown_section": {}}, {}, "unknown_section"),
        ("not a dict", {}, "config must be a dict"),
        ({}, {"OPENAI_API_KEY": "k", "MEMORY_LOCAL_ONLY": "1"}, "would call api.openai.com"),
        ({}, {"OPENAI_BASE_URL": "http://10.0.0.5/v1", "MEMORY_LOCAL_ONLY": "true"}, "is not on this machine"),
    ],
)
def test_wrong_configuration_is_a_clear_error(config, env, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MemoryConfig.from_dict(config, env=env)


def test_search_mode_is_hybrid_unless_set() -> None:
    assert MemoryConfig.from_env({}).search_mode == "hybrid"
    assert MemoryConfig.from_env({"MEMORY_SEARCH_MODE": "Vector"}).search_mode == "vector"
    with pytest.raises(ConfigError, match="search_mode"):
        MemoryConfig.from_env({"MEMORY_SEARCH_MODE": "fuzzy"})


def test_the_chat_models_timeout_and_retries_come_from_the_environment() -> None:
    config = MemoryConfig.from_env({"MEMORY_LLM_TIMEOUT": "2.5", "MEMORY_LLM_MAX_RETRIES": "0"})
    assert (config.llm.timeout, config.llm.max_retries) == (2.5, 0)
    with pytest.raises(ConfigError, match=r"llm\.max_retries"):
        MemoryConfig.from_env({"MEMORY_LLM_MAX_RETRIES": "-1"})
