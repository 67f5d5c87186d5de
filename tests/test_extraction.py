"""add(infer=True) with the LLM extractor: one call, short ids, validation, retries, dates."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from bench.harness.stub_openai import Fault, StubOpenAI
from memory import ExtractionError, Memory, ModelError
from tests.shapes import assert_add_result, assert_history

UUID_IN_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def ops(*operations: tuple[str, str | None, str | None]) -> dict:
    return {"operations": [{"event": e, "id": i, "text": t} for e, i, t in operations]}


def seed(m: Memory, *texts: str, user: str = "alice") -> list[str]:
    return [m.add(t, user_id=user, infer=False)["results"][0]["id"] for t in texts]


def test_one_llm_call_with_a_json_schema_and_two_embedding_requests(
    make_memory: Callable[..., Memory], stub: StubOpenAI
) -> None:
    m = make_memory()
    seed(m, "Likes tennis", "Lives in Osaka")
    stub.reset()
    stub.script(ops(("ADD", None, "Has a sister named Yui"), ("ADD", None, "Works as a nurse")))
    result = m.add("My sister Yui visited. I work as a nurse.", user_id="alice")
    assert_add_result(result, ["ADD", "ADD"])
    [call] = stub.chat_requests()
    fmt = call.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["operations"]
    assert len(stub.embedding_requests()) == 2, "candidates, then all new texts in one batch"
    assert stub.embedding_requests()[1].body["input"] == ["Has a sister named Yui", "Works as a nurse"]


def test_candidates_reach_the_model_under_short_ids_never_uuids(
    make_memory: Callable[..., Memory], stub: StubOpenAI
) -> None:
    m = make_memory()
    seed(m, "Likes tennis", "Lives in Osaka")
    stub.reset()
    m.add("I still like tennis", user_id="alice")
    prompt = stub.chat_requests()[0].prompt
    block = prompt.split("<<<memories\n", 1)[1].split("\nmemories>>>", 1)[0]
    memories = [json.loads(line) for line in block.splitlines()]
    assert sorted(x["id"] for x in memories) == ["0", "1"]
    assert sorted(x["text"] for x in memories) == ["Likes tennis", "Lives in Osaka"]
    assert not UUID_IN_TEXT.search(prompt)


def test_a_contradiction_updates_the_old_memory(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    m = make_memory()
    [tennis] = seed(m, "Prefers tennis to badminton")
    stub.script(ops(("UPDATE", "0", "Prefers badminton to tennis")))
    result = m.add("I now prefer badminton to tennis", user_id="alice")
    assert_add_result(result, ["UPDATE"])
    assert result["results"][0] == {
        "id": tennis,
        "memory": "Prefers badminton to tennis",
        "event": "UPDATE",
        "previous_memory": "Prefers tennis to badminton",
    }
    assert [i["memory"] for i in m.get_all(user_id="alice")["results"]] == ["Prefers badminton to tennis"]
    assert_history(m.history(tennis), ["ADD", "UPDATE"])


def test_delete_is_applied_and_recorded(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    m = make_memory()
    [cat] = seed(m, "Has a cat")
    stub.script(ops(("DELETE", "0", None)))
    result = m.add("Please forget about my cat", user_id="alice")
    assert result["results"] == [{"id": cat, "memory": "Has a cat", "event": "DELETE"}]
    assert m.get(cat) is None
    assert_history(m.history(cat), ["ADD", "DELETE"])


def test_validation_drops_what_cannot_be_applied(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    m = make_memory()
    seed(m, "Likes tennis")
    stub.script(
        ops(
            ("DELETE", "7", None),  # unknown id: dropped
            ("UPDATE", "42", "Plays the violin"),  # unknown id: becomes an ADD
            ("ADD", None, "Likes tennis"),  # duplicate of a memory by hash: skipped
            ("ADD", None, "   "),  # empty: dropped
            ("ADD", None, "Drinks oolong tea"),
            ("ADD", None, "Drinks oolong tea"),  # duplicate within the reply: skipped
            ("UPDATE", "0", "Likes tennis"),  # unchanged text: nothing to do
        )
    )
    result = m.add("I play the violin and drink oolong tea", user_id="alice")
    assert [(r["event"], r["memory"]) for r in result["results"]] == [
        ("ADD", "Plays the violin"),
        ("ADD", "Drinks oolong tea"),
    ]
    assert sorted(i["memory"] for i in m.get_all(user_id="alice")["results"]) == [
        "Drinks oolong tea",
        "Likes tennis",
        "Plays the violin",
    ]


def test_malformed_output_is_retried_once(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    m = make_memory()
    stub.script("this is not JSON", ops(("ADD", None, "Speaks Portuguese")))
    result = m.add("I speak Portuguese", user_id="alice")
    assert [r["memory"] for r in result["results"]] == ["Speaks Portuguese"]
    assert len(stub.chat_requests()) == 2


@pytest.mark.parametrize(
    "bad", ["{not json", {"operations": [{"event": "MERGE", "id": None, "text": "x"}]}, {"ops": []}, "[1, 2]"]
)
def test_malformed_twice_is_a_clean_extraction_error(make_memory: Callable[..., Memory], stub: StubOpenAI, bad) -> None:
    m = make_memory()
    seed(m, "Likes tennis")
    stub.script(bad, bad)
    with pytest.raises(ExtractionError, match=r"malformed twice .* nothing was changed"):
        m.add("I like squash", user_id="alice")
    assert [i["memory"] for i in m.get_all(user_id="alice")["results"]] == ["Likes tennis"]
    assert len(stub.chat_requests()) == 2


def test_servers_without_json_schema_get_json_object(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    m = make_memory()
    stub.reject_json_schema = True
    stub.script(ops(("ADD", None, "Owns a bakery")))
    assert [r["memory"] for r in m.add("I own a bakery", user_id="alice")["results"]] == ["Owns a bakery"]
    formats = [r.body["response_format"]["type"] for r in stub.chat_requests()]
    assert formats == ["json_schema", "json_object"]
    stub.script(ops(("ADD", None, "Bakes rye bread")))
    m.add("I bake rye bread", user_id="alice")
    assert stub.chat_requests()[-1].body["response_format"]["type"] == "json_object", "remembered"


def test_model_failure_is_a_model_error_and_changes_nothing(
    make_memory: Callable[..., Memory], stub: StubOpenAI
) -> None:
    m = make_memory()
    seed(m, "Likes tennis")
    stub.script(Fault(500), Fault(500), Fault(500))
    with pytest.raises(ModelError, match=r"chat request to .* failed"):
        m.add("I like squash", user_id="alice")
    assert [i["memory"] for i in m.get_all(user_id="alice")["results"]] == ["Likes tennis"]


def test_the_prompt_carries_the_date_of_the_call(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    days = iter([date(2026, 3, 1), date(2026, 3, 2)])
    m = make_memory(today=lambda: next(days))
    m.add("I have a dentist appointment tomorrow", user_id="alice")
    m.add("I have a dentist appointment tomorrow", user_id="alice")
    first, second = (r.prompt for r in stub.chat_requests())
    assert "Today is Sunday, 2026-03-01." in first and "Today is Monday, 2026-03-02." in second
    assert "relative dates absolute" in first


def test_default_date_is_today_not_import_time(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    make_memory().add("I am flying home tomorrow", user_id="alice")
    assert date.today().isoformat() in stub.chat_requests()[0].prompt


def test_facts_keep_the_users_language(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    m = make_memory()
    stub.script(ops(("ADD", None, "毎朝コーヒーを飲む")))
    m.add("毎朝コーヒーを飲みます", user_id="alice")
    assert "Never translate" in stub.chat_requests()[0].prompt
    assert m.get_all(user_id="alice")["results"][0]["memory"] == "毎朝コーヒーを飲む"
    assert m.search("コーヒー", user_id="alice")["results"][0]["memory"] == "毎朝コーヒーを飲む"


def test_too_many_operations_are_capped(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    m = make_memory({"max_operations": 5})
    stub.script(ops(*[("ADD", None, f"fact {i}") for i in range(1000)]))
    result = m.add("a very long story", user_id="alice")
    assert len(result["results"]) == 5
    assert len(m.get_all(user_id="alice")["results"]) == 5


def test_each_statement_finds_its_own_candidates_in_one_embedding_request(
    make_memory: Callable[..., Memory], stub: StubOpenAI
) -> None:
    """A correction buried in other talk still reaches the model with the memory it contradicts."""
    m = make_memory({"candidate_limit": 3})
    others = [f"Visited museum number {i} with friends on a rainy afternoon" for i in range(12)]
    seed(m, *others, "Lives in Berlin")
    stub.reset()
    message = (
        "Visited another museum with friends on a rainy afternoon. "
        "By the way, I moved to Munich and no longer live in Berlin. Any museum tips?"
    )
    m.add(message, user_id="alice")
    [call] = stub.chat_requests()
    assert '"Lives in Berlin"' in call.prompt
    [queries] = [r.body["input"] for r in stub.embedding_requests()]
    assert queries[0] == message and "By the way, I moved to Munich and no longer live in Berlin." in queries
    block = call.prompt.split("<<<memories\n", 1)[1].split("\nmemories>>>", 1)[0]
    assert len(block.splitlines()) <= 6, "at most twice the candidate limit"


def test_search_returns_up_to_100_by_default_as_the_tutorial(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    seed(m, *(f"Likes tea number {i}" for i in range(7)))
    assert len(m.search("tea", user_id="alice")["results"]) == 7
    assert len(m.search("tea", user_id="alice", limit=2)["results"]) == 2


def test_the_prompt_covers_corrections_forgetting_and_no_fact_turns(
    make_memory: Callable[..., Memory], stub: StubOpenAI
) -> None:
    m = make_memory()
    m.add("Forget where I work.", user_id="alice")
    prompt = stub.chat_requests()[0].prompt
    for rule in ("UPDATE when the user corrects", "forget where I work", "No facts", "questions", "keeps its subject"):
        assert rule in prompt


def test_no_scope_lock_is_held_while_the_model_answers(make_memory: Callable[..., Memory], stub: StubOpenAI) -> None:
    """The model is kept waiting; meanwhile the user edits a memory in the panel, which must not wait
    for it. The edit changed a memory the extraction had seen, so it plans once more (a second call)."""
    m = make_memory()
    [tea] = seed(m, "Likes tea")
    stub.reset()
    asked, answer = threading.Event(), threading.Event()

    def slow_model(body: dict) -> dict:
        asked.set()
        answer.wait(30)
        return ops(("ADD", None, "Plays chess"))

    stub.json_reply = slow_model
    with ThreadPoolExecutor(2) as pool:
        adding = pool.submit(m.add, "I play chess", user_id="alice")
        assert asked.wait(10), "the model was asked"
        editing = pool.submit(m.update, tea, "Likes green tea", user_id="alice", source="panel")
        editing.result(timeout=10)  # done while the model still thinks
        assert not adding.done()
        answer.set()
        result = adding.result(timeout=30)
    assert [(r["event"], r["memory"]) for r in result["results"]] == [("ADD", "Plays chess")]
    assert len(stub.chat_requests()) == 2, "planned again: a memory it had seen changed meanwhile"
    assert sorted(i["memory"] for i in m.get_all(user_id="alice")["results"]) == ["Likes green tea", "Plays chess"]
