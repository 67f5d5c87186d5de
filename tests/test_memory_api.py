"""The library contract beyond the tutorial: by-id calls, scopes, filters, owners, errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from memory import InvalidInputError, Memory, MemoryNotFoundError
from tests.shapes import assert_history, assert_item


def add_raw(m: Memory, text: str, **scope: str) -> str:
    return m.add(text, infer=False, **scope)["results"][0]["id"]


def test_get_returns_one_item_or_none(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    memory_id = add_raw(m, "Likes green tea", user_id="alice")
    item = m.get(memory_id)
    assert item is not None
    assert_item(item)
    assert item["memory"] == "Likes green tea"
    assert m.get("00000000-0000-4000-8000-000000000000") is None
    with pytest.raises(InvalidInputError, match="is not a memory id"):
        m.get('x" or id != "')


def test_by_id_calls_check_the_owner(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    memory_id = add_raw(m, "Has a cat named Miso", user_id="alice")
    assert m.get(memory_id, user_id="bob") is None
    with pytest.raises(MemoryNotFoundError, match="for user 'bob'"):
        m.update(memory_id, "Has a dog", user_id="bob")
    with pytest.raises(MemoryNotFoundError):
        m.delete(memory_id, user_id="bob")
    with pytest.raises(MemoryNotFoundError):
        m.history(memory_id, user_id="bob")
    assert m.get(memory_id, user_id="alice")["memory"] == "Has a cat named Miso"  # type: ignore[index]
    assert [h["event"] for h in m.history(memory_id, user_id="alice")] == ["ADD"]


def test_update_keeps_metadata_and_recomputes_hash(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    memory_id = m.add("Plays chess", user_id="alice", metadata={"category": "hobbies", "level": 3}, infer=False)[
        "results"
    ][0]["id"]
    before = m.get(memory_id)
    m.update(memory_id=memory_id, data="Plays chess every Sunday")
    after = m.get(memory_id)
    assert before is not None and after is not None
    assert after["metadata"] == {"category": "hobbies", "level": 3}
    assert after["hash"] != before["hash"]
    assert after["created_at"] == before["created_at"]
    assert before["updated_at"] is None and after["updated_at"] is not None
    hit = m.search("chess on Sunday", user_id="alice")["results"][0]
    assert hit["memory"] == "Plays chess every Sunday", "the vector follows the new text"


def test_add_without_inference_stores_messages_as_they_are(make_memory: Callable[..., Memory], stub) -> None:
    m = make_memory()
    result = m.add(
        [{"role": "user", "content": "I moved to Kyoto."}, {"role": "assistant", "content": "Nice!"}],
        user_id="alice",
        infer=False,
    )
    assert [(r["event"], r["memory"]) for r in result["results"]] == [("ADD", "I moved to Kyoto."), ("ADD", "Nice!")]
    assert stub.chat_requests() == []
    assert len(stub.embedding_requests()) == 1, "one batched embedding request"


def test_delete_all_removes_every_page_of_one_user_only(make_memory: Callable[..., Memory], tmp_path: Path) -> None:
    m = make_memory()
    m.add([{"role": "user", "content": f"fact number {i}"} for i in range(1_203)], user_id="alice", infer=False)
    bob_id = add_raw(m, "Bob likes jazz", user_id="bob")
    assert m.count(user_id="alice") == 1_203
    assert m.delete_all(user_id="alice") == {"message": "Memories deleted successfully!"}
    assert m.count(user_id="alice") == 0
    assert m.get_all(user_id="alice", limit=2000)["results"] == []
    assert [i["id"] for i in m.get_all(user_id="bob")["results"]] == [bob_id]
    with sqlite3.connect(m.config.history_path) as db:
        deletes = db.execute(
            "SELECT COUNT(*) FROM memory_history WHERE event = 'DELETE' AND user_id = 'alice'"
        ).fetchone()[0]
    assert deletes == 1_203


def test_reset_empties_everything(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    first = add_raw(m, "Likes tea", user_id="alice")
    add_raw(m, "Likes coffee", user_id="bob")
    m.reset()
    assert m.get_all(user_id="alice")["results"] == [] and m.get_all(user_id="bob")["results"] == []
    assert m.history(first) == []
    add_raw(m, "Likes cocoa", user_id="alice")
    assert len(m.get_all(user_id="alice")["results"]) == 1


def test_filters_and_agent_and_run_scopes(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    m.add("Exam on Friday", user_id="alice", metadata={"category": "task", "priority": 2}, infer=False)
    m.add("Likes tennis", user_id="alice", metadata={"category": "hobbies"}, infer=False)
    m.add("Speaks formally", agent_id="tutor", infer=False)
    m.add("Asked about Kyoto", agent_id="tutor", run_id="run-1", infer=False)

    assert len(m.get_all(filters={"user_id": "alice"})["results"]) == 2
    tasks = m.get_all(filters={"user_id": "alice", "category": "task"})["results"]
    assert [t["memory"] for t in tasks] == ["Exam on Friday"]
    assert [t["memory"] for t in m.get_all(user_id="alice", filters={"priority": 2})["results"]] == ["Exam on Friday"]
    hits = m.search("exam", filters={"user_id": "alice", "category": "hobbies"})["results"]
    assert [h["memory"] for h in hits] == ["Likes tennis"]

    agent_items = m.get_all(agent_id="tutor")["results"]
    assert sorted(i["memory"] for i in agent_items) == ["Asked about Kyoto", "Speaks formally"]
    assert all("user_id" not in i and i["agent_id"] == "tutor" for i in agent_items)
    run_items = m.get_all(agent_id="tutor", run_id="run-1")["results"]
    assert [(i["memory"], i["run_id"]) for i in run_items] == [("Asked about Kyoto", "run-1")]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.add("", user_id="alice"), "messages are empty"),
        (lambda m: m.add("   \n\t ", user_id="alice"), "messages are empty"),
        (lambda m: m.add("I like tea"), "one of user_id, agent_id or run_id is required"),
        (lambda m: m.add("I like tea", user_id=""), "user_id is empty"),
        (lambda m: m.add("I like tea", user_id=42), "user_id must be a string"),
        (lambda m: m.add([{"role": "user", "content": 5}], user_id="a"), "string 'content'"),
        (lambda m: m.add([{"role": "robot", "content": "hi"}], user_id="a"), "role 'robot'"),
        (lambda m: m.add(3.14, user_id="a"), "messages must be a string"),
        (lambda m: m.add("I like tea", user_id="a", metadata={"when": object()}), "JSON-serializable"),
        (lambda m: m.add("I like tea", user_id="a", metadata={"x": "y" * 20_000}), "at most 16384"),
        (lambda m: m.add("I like tea", user_id="a", metadata=["not", "a", "dict"]), "metadata must be a dict"),
        (lambda m: m.add("x" * 70_000, user_id="a", infer=False), "at most 65535 bytes"),
        (lambda m: m.search("", user_id="a"), "query must be a non-empty string"),
        (lambda m: m.search("tea", user_id="a", limit=0), "limit must be a whole number"),
        (lambda m: m.get_all(user_id="a", limit=10**9), "limit must be a whole number"),
        (lambda m: m.get_all(user_id="a", filters={"bad key": 1}), "must be a plain name"),
        (lambda m: m.get_all(user_id="a", filters={"k": [1]}), "takes a string, number or boolean"),
        (lambda m: m.get_all(user_id="a", filters={"user_id": "b"}), "given twice"),
        (lambda m: m.update("00000000-0000-4000-8000-000000000000", ""), "data must be a non-empty string"),
        (lambda m: m.delete("../../etc/passwd"), "is not a memory id"),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    make_memory: Callable[..., Memory], call, message: str
) -> None:
    m = make_memory()
    add_raw(m, "Keeps bees", user_id="a")
    with pytest.raises(InvalidInputError, match=message):
        call(m)
    assert [i["memory"] for i in m.get_all(user_id="a")["results"]] == ["Keeps bees"]


def test_cosine_metric_scores_are_similarities(make_memory: Callable[..., Memory]) -> None:
    m = make_memory({"vector_store": {"config": {"metric_type": "cosine", "collection_name": "cosine_memories"}}})
    add_raw(m, "loves green tea from Kyoto", user_id="alice")
    add_raw(m, "repairs old motorcycles", user_id="alice")
    hits = m.search("green tea", user_id="alice")["results"]
    assert hits[0]["memory"] == "loves green tea from Kyoto"
    assert hits[0]["score"] > hits[1]["score"], "COSINE: larger is closer"
    assert m.search("green tea", user_id="alice", threshold=0.3)["results"][0]["memory"] == "loves green tea from Kyoto"
    assert len(m.search("green tea", user_id="alice", threshold=0.3)["results"]) == 1


def test_history_rows_carry_their_owner_in_sqlite_wal(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    memory_id = add_raw(m, "Runs 5k", user_id="alice")
    m.update(memory_id, "Runs 10k")
    m.delete(memory_id)
    assert_history(m.history(memory_id), ["ADD", "UPDATE", "DELETE"])
    with sqlite3.connect(m.config.history_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute(
            "SELECT user_id, event FROM memory_history WHERE memory_id = ? ORDER BY seq", (memory_id,)
        ).fetchall()
    assert rows == [("alice", "ADD"), ("alice", "UPDATE"), ("alice", "DELETE")]


def test_a_search_costs_one_embedding_request_and_no_llm_call(make_memory: Callable[..., Memory], stub) -> None:
    m = make_memory()
    add_raw(m, "Likes green tea", user_id="alice")
    stub.reset()
    m.search("tea", user_id="alice")
    assert (len(stub.embedding_requests()), len(stub.chat_requests())) == (1, 0)
