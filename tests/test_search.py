"""Hybrid search on real milvus-lite: a rare word counts, scores stay the vector's, old collections still work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pymilvus import DataType, MilvusClient

from memory import Memory

COMMON = [f"appointment number {n}" for n in range(10)]
# Long, so that its one shared word weighs little in the vector; rare, so that BM25 weighs it a lot.
RARE = (
    "Takes the old family dog Biscuit along on long walks by the river every single morning "
    "before work, rain or shine, with a thermos of coffee and a scarf"
)


def _ids(m: Memory, query: str, limit: int = 5) -> list[str]:
    return [h["memory"] for h in m.search(query, user_id="alice", limit=limit)["results"]]


def test_a_rare_word_is_found_when_the_vector_ranks_it_low(make_memory: Callable[..., Memory]) -> None:
    hybrid = make_memory()
    for text in [*COMMON, RARE]:
        hybrid.add(text, user_id="alice", infer=False)
    vector = make_memory({"search_mode": "vector"})

    assert RARE not in _ids(vector, "biscuit appointment"), "the vector alone ranks it below the five"
    assert RARE in _ids(hybrid, "biscuit appointment")


def test_hybrid_scores_are_the_vector_scores(make_memory: Callable[..., Memory]) -> None:
    hybrid = make_memory()
    for text in [*COMMON, RARE]:
        hybrid.add(text, user_id="alice", infer=False)
    vector = make_memory({"search_mode": "vector"})
    everything = {
        h["id"]: h["score"] for h in vector.search("biscuit appointment", user_id="alice", limit=50)["results"]
    }
    hits = hybrid.search("biscuit appointment", user_id="alice", limit=5)["results"]
    assert len(hits) == 5 and RARE in [h["memory"] for h in hits]
    for hit in hits:
        assert hit["score"] == pytest.approx(everything[hit["id"]], abs=1e-4)
    assert [h["score"] for h in hits] == sorted(h["score"] for h in hits), "listed by distance, as the tutorial"


def test_cosine_hybrid_scores_are_similarities(make_memory: Callable[..., Memory]) -> None:
    m = make_memory({"vector_store": {"config": {"metric_type": "COSINE"}}})
    m.add("Plays tennis on weekends", user_id="alice", infer=False)
    m.add("Bakes sourdough bread", user_id="alice", infer=False)
    hits = m.search("tennis weekends", user_id="alice")["results"]
    assert hits[0]["memory"] == "Plays tennis on weekends"
    assert 0.0 < hits[0]["score"] <= 1.0 + 1e-6
    assert hits[0]["score"] > hits[1]["score"], "COSINE: larger is closer, listed first"


def test_the_keyword_index_follows_updates(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    for text in COMMON:
        m.add(text, user_id="alice", infer=False)
    memory_id = m.add(RARE, user_id="alice", infer=False)["results"][0]["id"]
    m.update(memory_id, RARE.replace("Biscuit", "Pickle"))
    assert RARE.replace("Biscuit", "Pickle") in _ids(m, "pickle appointment")
    assert all("Biscuit" not in text and "Pickle" not in text for text in _ids(m, "biscuit appointment"))


def test_japanese_words_are_keywords(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    for text in [f"予定の番号は{n}です" for n in range(10)]:
        m.add(text, user_id="alice", infer=False)
    m.add("週末は公園で猫と一緒にのんびり過ごすのが好きです", user_id="alice", infer=False)
    found = [h["memory"] for h in m.search("猫", user_id="alice", limit=3)["results"]]
    assert found[0] == "週末は公園で猫と一緒にのんびり過ごすのが好きです"


@pytest.mark.own_milvus
def test_a_collection_without_the_keyword_field_is_searched_by_vector(
    make_memory: Callable[..., Memory], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A collection made before hybrid search (no BM25 field) opens, warns once and still searches."""
    client = MilvusClient(str(tmp_path / "milvus.db"))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, max_length=64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=1536)
    for name in ("user_id", "agent_id", "run_id", "memory"):
        schema.add_field(name, DataType.VARCHAR, max_length=65_535)
    for name in ("hash", "created_at", "updated_at"):
        schema.add_field(name, DataType.VARCHAR, max_length=64)
    schema.add_field("category", DataType.VARCHAR, max_length=256)
    schema.add_field("metadata", DataType.JSON)
    index = MilvusClient.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection("test_memories", schema=schema, index_params=index)
    client.close()

    with caplog.at_level(logging.WARNING, logger="memory.store"):
        m = make_memory()
    assert "has no keyword (BM25) field: search uses vectors only" in caplog.text
    m.add("Plays tennis on weekends", user_id="alice", infer=False)
    m.add("Bakes sourdough bread", user_id="alice", infer=False)
    assert _ids(m, "tennis on weekends", limit=1) == ["Plays tennis on weekends"]


def test_a_large_insert_goes_in_chunks_and_keeps_every_row(make_memory: Callable[..., Memory]) -> None:
    """1,300 rows of 1,536 dims are 8 MB: one milvus-lite insert of that size takes minutes."""
    m = make_memory()
    texts = [f"note number {n} about topic {n % 13}" for n in range(1300)]
    result = m.add([{"role": "user", "content": t} for t in texts], user_id="alice", infer=False)
    assert len(result["results"]) == 1300
    assert m.count(user_id="alice") == 1300
    assert _ids(m, "note number 1299", limit=1) == ["note number 1299 about topic 12"]


@pytest.mark.own_milvus
def test_a_store_that_never_held_a_memory_can_be_searched(make_memory: Callable[..., Memory]) -> None:
    """milvus-lite 2.5.1 fails a BM25 search of a collection that never held a row."""
    m = make_memory()
    assert m.search("anything at all", user_id="alice")["results"] == []
    m.add("Plays tennis on weekends", user_id="alice", infer=False)
    assert _ids(m, "tennis", limit=1) == ["Plays tennis on weekends"]
    m.reset()
    assert m.search("tennis", user_id="alice")["results"] == []
