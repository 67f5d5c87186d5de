"""The offline heuristic extractor: deterministic, English and Japanese, through the library."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date

import pytest

from memory import Memory
from memory.extract import Candidates
from memory.extract.offline import HeuristicExtractor, Statement
from memory.models import Record, text_hash

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("I am working on improving my tennis skills.", "Working on improving tennis skills"),
        ("I moved to Munich last month.", "Moved to Munich in October 2026"),
        ("I stopped playing guitar last year.", "Stopped playing guitar in 2025"),
        ("I never drink alcohol.", "Never drinks alcohol"),
        ("I no longer eat red meat.", "No longer eats red meat"),
        ("My email is dana@example.com.", "Email is dana@example.com"),
        ("I'm 34.", "Is 34 years old"),
        ("Sorry, typo: my name is actually John.", "Name is John"),
        ("These days I can't stand sushi.", "Cannot stand sushi these days"),
        ("My brother Kenji works at Sony.", "Brother Kenji works at Sony"),
        ("I’m a software engineer at Google.", "Is a software engineer at Google"),
        ("Could you remember that I'm allergic to cats?", "Is allergic to cats"),
        ("From now on, please reply in Spanish.", "Wants the assistant to reply in Spanish"),
        ("My job interview is this Friday.", "Job interview is on Friday, 2026-11-27"),
        ("I have an exam in three days.", "Has an exam on 2026-11-27"),
        ("先月、京都に引っ越しました。", "2026年10月、京都に引っ越しました"),
        ("Hey! Name's Bruno.", "Name is Bruno"),
        ("I'm a big fan of Formula 1, as you know.", "Is a big fan of Formula 1"),
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
        ("私は明日歯医者に行きます", "2026年11月25日に歯医者に行きます"),
    ],
)
def test_statements_about_oneself_become_facts(said: str, fact: str) -> None:
    assert HeuristicExtractor().statements([{"role": "user", "content": said}], TODAY) == [Statement("fact", fact)]


@pytest.mark.parametrize(
    "said",
    [
        "What is the capital of France?",
        "The weather is nice",
        "東京はどうですか？",
        "Hello there!",
        "What car do I drive",
        "Thanks, that's helpful.",
        "I think so.",
        "I'm pretty tired today.",
        "Oops, I misspelled it.",
        "I need a recipe for dinner.",
        "Tell me a joke.",
        "ありがとうございます。",
        "今日は寒いですね。",
    ],
)
def test_questions_and_small_talk_are_not_facts(said: str) -> None:
    assert HeuristicExtractor().statements([{"role": "user", "content": said}], TODAY) == []


@pytest.mark.parametrize(
    ("said", "topic"),
    [
        ("Forget where I work.", "where I work"),
        ("Please forget my address.", "my address"),
        ("Don't remember anything about my allergies.", "my allergies"),
        ("Stop remembering my allergies.", "my allergies"),
        ("Can you forget my phone number?", "my phone number"),
        ("Please delete what you know about my job.", "my job"),
        ("趣味のことは忘れて。", "趣味"),
        ("私が住んでいる場所を忘れてください。", "住んでいる場所"),
    ],
)
def test_forget_requests_in_loose_words(said: str, topic: str) -> None:
    assert HeuristicExtractor().statements([{"role": "user", "content": said}], TODAY) == [Statement("forget", topic)]


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


@pytest.mark.parametrize(
    ("first", "then", "left"),
    [
        (
            "I'm a vegetarian.",
            "I'm not vegetarian anymore, I eat fish now.",
            ["Is not vegetarian anymore", "Eats fish now"],
        ),
        (
            "I live in Paris and work at a bakery.",
            "I don't work at the bakery anymore.",
            ["Lives in Paris", "Does not work at the bakery anymore"],
        ),
        (
            "I work at Acme as an accountant.",
            "I quit Acme. Now I work at Globex as a data analyst.",
            ["Works at Globex as a data analyst"],
        ),
        ("I have one cat.", "We adopted another cat, so now I have two cats.", ["Has two cats", "Adopted another cat"]),
        ("I have a dog named Rex.", "As I said, I have a dog called Rex.", ["Has a dog named Rex"]),
        (
            "I collect stamps from country 1.",
            "I collect stamps from country 2.",
            ["Collects stamps from country 1", "Collects stamps from country 2"],
        ),
        ("I love sushi.", "I hate sushi now.", ["Hates sushi now"]),
        ("I run twice a week.", "I run four times a week these days.", ["Runs four times a week these days"]),
        ("I'm single.", "I got married in June.", ["Got married in June"]),
        ("私は大阪に住んでいます。", "先月、京都に引っ越しました。", ["2026年10月、京都に引っ越しました"]),
    ],
)
def test_a_correction_replaces_the_old_fact(first: str, then: str, left: list[str]) -> None:
    assert sorted(_planned(_planned([], first), then)) == sorted(left)


def _planned(memories: list[str], said: str) -> list[str]:
    """The memories after `said`, planned against `memories` (every one a candidate) and applied
    here: planning needs no Milvus."""
    records = [Record(str(uuid.uuid4()), t, text_hash(t), "2026-01-01T00:00:00+00:00") for t in memories]

    def lookup(texts: Sequence[str], purpose: str, cap: int | None = None) -> Candidates:
        return Candidates([[0.0] for _ in texts], cap, records)

    plan = HeuristicExtractor().plan([{"role": "user", "content": said}], TODAY, lookup)
    kept = {r.id: r.memory for r in records}
    for op in plan.operations:
        if op.target is None:
            kept[str(uuid.uuid4())] = op.text
        elif op.event == "UPDATE":
            kept[op.target.id] = op.text
        else:
            kept.pop(op.target.id, None)
    return list(kept.values())


def test_forgetting_a_topic_deletes_only_that_topic(make_memory: Callable[..., Memory]) -> None:
    m = heuristic_memory(make_memory)
    m.add("I work as a nurse in Osaka. I live at 12 Baker Street. I'm allergic to peanuts.", user_id="alice")
    m.add("My sister works at a bank.", user_id="alice")
    forgot = m.add("Forget where I work.", user_id="alice")
    assert [(r["event"], r["memory"]) for r in forgot["results"]] == [("DELETE", "Works as a nurse in Osaka")]
    m.add("Please forget my address. And don't remember anything about my allergies.", user_id="alice")
    assert [i["memory"] for i in m.get_all(user_id="alice")["results"]] == ["Sister works at a bank"]


def test_an_exact_repeat_changes_nothing(make_memory: Callable[..., Memory]) -> None:
    m = heuristic_memory(make_memory)
    m.add("I like sushi", user_id="alice")
    assert m.add("I really like sushi", user_id="alice")["results"] == []


def test_forgetting_a_field_deletes_what_belongs_to_it(make_memory: Callable[..., Memory]) -> None:
    m = heuristic_memory(make_memory)
    m.add("I'm diabetic. My son plays the piano. I love songs about the sea.", user_id="alice")
    forgot = m.add("Forget what I said about my health.", user_id="alice")
    assert [(r["event"], r["memory"]) for r in forgot["results"]] == [("DELETE", "Is diabetic")]
    forgot = m.add("Please forget everything about my family.", user_id="alice")
    assert [(r["event"], r["memory"]) for r in forgot["results"]] == [("DELETE", "Son plays the piano")]
    assert [i["memory"] for i in m.get_all(user_id="alice")["results"]] == ["Loves songs about the sea"]
