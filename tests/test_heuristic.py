"""The offline heuristic extractor: deterministic, English and Japanese, through the library."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from memory import Memory
from memory.extraction import HeuristicExtractor, Statement

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("I am working on improving my tennis skills.", "Working on improving tennis skills"),
        ("I have a linear algebra midterm exam on November 20", "Has a linear algebra midterm exam on November 20"),
        ("I like sushi.", "Likes sushi"),
        ("I'm a teacher", "Is a teacher"),
        ("I don't eat meat", "Does not eat meat"),
        ("I now prefer badminton to tennis", "Prefers badminton to tennis"),
        ("I study physics", "Studies physics"),
        ("My name is Alice", "Name is Alice"),
        ("I'm Alice", "Name is Alice"),
        ("I am Mary Jane", "Name is Mary Jane"),
        ("Remember that my sister's birthday is May 3", "Sister's birthday is May 3"),
        ("I have a dentist appointment tomorrow", "Has a dentist appointment on 2026-11-25"),
        ("私はテニスが好きです。", "テニスが好きです"),
        ("私の名前は太郎です", "名前は太郎です"),
        ("母の誕生日は5月3日だと覚えておいて", "母の誕生日は5月3日"),
        ("私は明日歯医者に行きます", "2026-11-25に歯医者に行きます"),
    ],
)
def test_statements_about_oneself_become_facts(said: str, fact: str) -> None:
    assert HeuristicExtractor().statements([{"role": "user", "content": said}], TODAY) == [Statement("fact", fact)]


@pytest.mark.parametrize(
    "said", ["What is the capital of France?", "The weather is nice", "東京はどうですか？", "Hello there!"]
)
def test_questions_and_small_talk_are_not_facts(said: str) -> None:
    assert HeuristicExtractor().statements([{"role": "user", "content": said}], TODAY) == []


def test_clauses_joined_by_and_become_separate_facts() -> None:
    said = "Hi! I'm Alice. I love playing tennis on weekends and I live in Lisbon; my dog is called Rex"
    assert [s.text for s in HeuristicExtractor().statements([{"role": "user", "content": said}], TODAY)] == [
        "Name is Alice",
        "Loves playing tennis on weekends",
        "Lives in Lisbon",
        "Dog is called Rex",
    ]


def test_only_the_users_words_count_and_the_result_is_deterministic() -> None:
    messages = [
        {"role": "user", "content": "I like jazz. I live in Lisbon."},
        {"role": "assistant", "content": "I love jazz too."},
    ]
    first = HeuristicExtractor().statements(messages, TODAY)
    assert first == [Statement("fact", "Likes jazz"), Statement("fact", "Lives in Lisbon")]
    assert HeuristicExtractor().statements(messages, TODAY) == first


def heuristic_memory(make_memory: Callable[..., Memory], **extra: object) -> Memory:
    return make_memory({"extractor": "heuristic", **extra})


def test_add_and_forget_in_english(make_memory: Callable[..., Memory], stub) -> None:
    m = heuristic_memory(make_memory)
    added = m.add("I like sushi. I play the cello.", user_id="alice")
    assert [(r["event"], r["memory"]) for r in added["results"]] == [("ADD", "Likes sushi"), ("ADD", "Plays the cello")]
    forgot = m.add("Forget that I like sushi", user_id="alice")
    assert [(r["event"], r["memory"]) for r in forgot["results"]] == [("DELETE", "Likes sushi")]
    assert [i["memory"] for i in m.get_all(user_id="alice")["results"]] == ["Plays the cello"]
    assert stub.chat_requests() == [], "the heuristic needs no chat model"


def test_add_and_forget_in_japanese(make_memory: Callable[..., Memory]) -> None:
    m = heuristic_memory(make_memory)
    m.add("私はテニスが好きです。私の趣味は料理です。", user_id="hanako")
    assert [i["memory"] for i in m.get_all(user_id="hanako")["results"]] == ["テニスが好きです", "趣味は料理です"]
    forgot = m.add("テニスのことは忘れて", user_id="hanako")
    assert [(r["event"], r["memory"]) for r in forgot["results"]] == [("DELETE", "テニスが好きです")]
    remembered = m.add("母の誕生日は5月3日だと覚えておいて", user_id="hanako")
    assert [(r["event"], r["memory"]) for r in remembered["results"]] == [("ADD", "母の誕生日は5月3日")]


def test_a_changed_attribute_updates_instead_of_adding(make_memory: Callable[..., Memory]) -> None:
    m = heuristic_memory(make_memory)
    m.add("I prefer tennis to badminton. I live in Paris.", user_id="alice")
    result = m.add("I now prefer badminton to tennis. I live in Berlin now.", user_id="alice")
    assert [(r["event"], r["memory"], r.get("previous_memory")) for r in result["results"]] == [
        ("UPDATE", "Prefers badminton to tennis", "Prefers tennis to badminton"),
        ("UPDATE", "Lives in Berlin now", "Lives in Paris"),
    ]
    assert len(m.get_all(user_id="alice")["results"]) == 2
    jp = m.add("私の名前は太郎です", user_id="taro")
    jp2 = m.add("私の名前は次郎です", user_id="taro")
    assert jp["results"][0]["event"] == "ADD"
    assert [(r["event"], r["memory"]) for r in jp2["results"]] == [("UPDATE", "名前は次郎です")]


@pytest.mark.parametrize(("threshold", "event"), [(0.8, "UPDATE"), (0.99, "ADD")])
def test_a_near_duplicate_by_embedding_updates(
    make_memory: Callable[..., Memory], threshold: float, event: str
) -> None:
    m = heuristic_memory(make_memory, near_duplicate_similarity=threshold)
    m.add("I love hiking in the Alps with friends", user_id="alice")
    result = m.add("I love hiking in the Alps with old friends", user_id="alice")
    assert [r["event"] for r in result["results"]] == [event]


def test_an_exact_repeat_changes_nothing(make_memory: Callable[..., Memory]) -> None:
    m = heuristic_memory(make_memory)
    m.add("I like sushi", user_id="alice")
    assert m.add("I really like sushi", user_id="alice")["results"] == []
