"""Bad input to the library: a clear error from the library's own tree, and nothing lost."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memory import ConfigError, DimensionMismatchError, InvalidInputError, Memory, MemoryConfig, StoreError
from tests.reliability.checks import Snapshot, assert_consistent

HUGE = "I like tea. " * 17_000  # 204,000 characters
CONTROL = "tab\there, bell\x07, escape\x1b[31m, nul\x00, delete\x7f, rtl\u202eoverride, zero\u200bwidth"


@pytest.fixture
def m(make_memory: Callable[..., Memory]) -> Memory:
    memory = make_memory()
    memory.add("Keeps bees", user_id="alice", infer=False)
    return memory


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.add("", user_id="alice"), "messages are empty"),
        (lambda m: m.add(" \n\t\r ", user_id="alice"), "messages are empty"),
        (lambda m: m.add([], user_id="alice"), "messages are empty"),
        (lambda m: m.add([{"role": "user", "content": "   "}], user_id="alice"), "messages are empty"),
        (lambda m: m.add(None, user_id="alice"), "messages must be a string"),
        (lambda m: m.add(HUGE, user_id="alice", infer=False), "at most 65535 bytes"),
        (lambda m: m.add("lone \udc80 surrogate", user_id="alice"), "not valid text"),
        (lambda m: m.add("fine", user_id="bad \ud800 id"), "user_id is not valid text"),
        (lambda m: m.add("fine", user_id="alice", metadata={"k": "\udfff"}), "metadata is not valid text"),
        (lambda m: m.add("fine", user_id="alice", metadata={"k": math.nan}), "JSON-serializable"),
        (lambda m: m.add("fine", user_id="alice", metadata={"k": {1, 2}}), "JSON-serializable"),
        (lambda m: m.add("fine", user_id="alice", metadata={"k": b"bytes"}), "JSON-serializable"),
        (lambda m: m.add("fine", user_id="alice", metadata={"k": "v" * 17_000}), "at most 16384"),
        (lambda m: m.add("fine", user_id="alice", metadata=_deep(5_000)), "JSON-serializable"),
        (lambda m: m.update(_id(m), "x" * 70_000), "at most 65535 bytes"),
        (lambda m: m.update(_id(m), " \n "), "data must be a non-empty string"),
        (lambda m: m.search("tea \udc80", user_id="alice"), "query is not valid text"),
        (lambda m: m.get_all(user_id="alice", filters={"k": "\udc80"}), "not valid text"),
    ],
)
def test_bad_input_is_a_clear_error_and_loses_nothing(
    m: Memory, tmp_path: Path, call: Callable[[Memory], Any], message: str
) -> None:
    before = Snapshot.of(m, "alice")
    with pytest.raises(InvalidInputError, match=message):
        call(m)
    assert Snapshot.of(m, "alice") == before
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"k": value}
    return value


def _id(m: Memory) -> str:
    return m.get_all(user_id="alice")["results"][0]["id"]


def test_a_200k_character_message_is_extracted_and_searched(m: Memory, tmp_path: Path) -> None:
    m.add(HUGE, user_id="alice")  # the model sees the first 6,000 tokens of it
    hits = m.search(HUGE, user_id="alice")["results"]  # the query is cut to 8,000 tokens for the embedder
    assert "Keeps bees" in [h["memory"] for h in hits]
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def test_control_characters_are_kept_as_they_are(m: Memory, tmp_path: Path) -> None:
    memory_id = m.add(CONTROL, user_id="alice", infer=False, metadata={"note": CONTROL})["results"][0]["id"]
    item = m.get(memory_id)
    assert item is not None and item["memory"] == CONTROL and item["metadata"] == {"note": CONTROL}
    assert memory_id in [h["id"] for h in m.search(CONTROL, user_id="alice")["results"]]
    assert m.history(memory_id)[0]["new_memory"] == CONTROL
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


@pytest.mark.own_milvus
@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({"vector_store": {"config": {"embedding_model_dims": "many"}}}, ConfigError, "embedding_model_dims"),
        ({"vector_store": {"config": {"url": "ftp://example.org/x"}}}, ConfigError, "unknown scheme"),
        ({"vector_store": {"config": {"url": "/tmp/memories.txt"}}}, ConfigError, "must end in .db"),
        ({"vector_store": {"provider": "pinecone"}}, ConfigError, "unknown vector_store provider 'pinecone'"),
        ({"llm": {"provider": "anthropic"}}, ConfigError, "unknown llm provider 'anthropic'"),
        ({"vector_store": {"config": {"metric_type": "HAMMING"}}}, ConfigError, "metric_type"),
        (
            {"embedder": {"provider": "openai", "config": {"model": "stub-small", "dims": 64}}},
            DimensionMismatchError,
            "has dim 1536 but the embedder gives 64",
        ),
    ],
)
def test_a_wrong_config_is_a_clear_error_and_loses_nothing(
    m: Memory,
    make_memory: Callable[..., Memory],
    tmp_path: Path,
    config: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    before = Snapshot.of(m, "alice")
    m.close()
    store = config.get("vector_store", {})
    wrong = {
        **config,
        "vector_store": {
            "provider": store.get("provider", "milvus"),
            "config": {
                "url": str(tmp_path / "milvus.db"),
                "collection_name": "test_memories",
                **store.get("config", {}),
            },
        },
    }
    with pytest.raises(error, match=message):
        Memory.from_config(wrong)
    assert Snapshot.of(make_memory(), "alice") == before


def test_a_bad_uri_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(
        StoreError, match=r"cannot use .*a_file/m\.db for milvus-lite: File exists .* in a folder you can write to"
    ):
        Memory(MemoryConfig.from_dict({"vector_store": {"config": {"url": str(tmp_path / "a_file" / "m.db")}}}))
