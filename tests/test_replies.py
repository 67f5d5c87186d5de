"""Replies that end: the repetition stop, its trimming, and answers built from recalled memories."""

from __future__ import annotations

import asyncio

import pytest

from chatapp.repetition import RepetitionGuard, without_repeat
from chatapp.reply import LOCAL_MAX_TOKENS, ReplyModel, StreamReport
from chatapp.turn import memory_answer
from memory import LLMConfig

LOOP = "I'm just a data-centric service, and I'm happy to assist you with any question. " * 4
PROSE = (
    "Lisbon is the capital of Portugal. It sits on seven hills by the Tagus river, and it is known for its "
    "tiles, its trams and its custard tarts. The old town, Alfama, survived the earthquake of 1755. "
    "From the castle you can see the bridge, the river and, on a clear day, the ocean beyond it."
)


def _first_stop(text: str) -> int | None:
    guard = RepetitionGuard()
    return next((i for i, ch in enumerate(text) if guard.repeats(ch)), None)


def test_the_guard_stops_a_loop_soon_after_it_starts_and_leaves_prose_alone() -> None:
    stop = _first_stop(LOOP)
    one = len(LOOP) // 4
    assert stop is not None and one < stop <= one + 32
    assert _first_stop(PROSE) is None
    assert _first_stop("Ha " * 5) is None, "too short to judge"


def test_a_looping_reply_is_cut_back_to_its_last_whole_sentence() -> None:
    assert without_repeat(LOOP) == LOOP[: len(LOOP) // 4].rstrip()
    assert without_repeat(PROSE) == PROSE
    assert without_repeat("Yes. " + "no way no way no way no way no way no way no way") == "Yes."


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("What do you know about me?", "Here is what I remember about you:\n- Name is Maria\n- Lives in Lisbon"),
        (
            "Tell me what you remember about me.",
            "Here is what I remember about you:\n- Name is Maria\n- Lives in Lisbon",
        ),
        ("私について何を知っていますか？", "あなたについて覚えていること：\n- Name is Maria\n- Lives in Lisbon"),
    ],
)
def test_what_do_you_know_about_me_is_answered_from_the_memories(asked: str, expected: str) -> None:
    memories = [{"memory": "Name is Maria"}, {"memory": "Lives in Lisbon"}]
    assert memory_answer(asked, memories) == expected


def test_other_questions_and_memory_off_go_to_the_model() -> None:
    memories = [{"memory": "Lives in Lisbon"}]
    assert memory_answer("What do you know about Paris?", memories) is None
    assert memory_answer("Where do I live?", memories) is None
    assert memory_answer("What do you know about me?", None) is None, "memory is off"
    assert "don't remember anything" in (memory_answer("What do you know about me?", []) or "")


@pytest.mark.slow
def test_the_offline_model_takes_the_sampling_controls_and_stops_at_its_cap() -> None:
    """llama.cpp accepts DRY sampling (a 400 otherwise), and a long answer ends by the cap at the latest."""
    client = ReplyModel(LLMConfig(provider="local"))
    report = StreamReport()

    async def collect() -> str:
        ask = [{"role": "user", "content": "Write a very long story about a dragon, at least a thousand words."}]
        return "".join([piece async for piece in client.stream(ask, report=report)])

    reply = asyncio.run(collect())
    assert reply.strip()
    assert 0 < report.pieces <= LOCAL_MAX_TOKENS
    assert report.finish_reason in ("stop", "length") or report.stopped_repeating or report.stopped_at_soft_cap
