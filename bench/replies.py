"""Offline replies: do they end, how long do they take, and do they use what memory recalled?

The offline chat model (SmolLM2-135M via xllamacpp) answers 20 fixed prompts through the app's
own prompt (chatapp.turn.build_messages), 10 of them with memories recalled for a user who stated
three facts. Then, 10 times, a fresh user states three facts and asks "What do you know about me?";
a reply that names at least two of them is a hit.

- loop_rate: replies the user would see running away: ended by the hard token cap, or still
  showing a loop after the app's own trimming (a verbatim repeat of 32 characters, or three
  sentences opening with the same three words);
- repetition_stop_rate: replies the repetition stop ended (what the user sees is trimmed);
- soft_cap_stop_rate: replies ended at the first sentence end past 100 pieces (about tokens);
- reply_seconds_p50/p95 and reply_tokens_p95 (tokens as the server streamed them).

    python -m bench.replies [--controls on|off] [--answer memories|model] [--out PATH]

`--controls off --answer model` is the behaviour before this change: plain sampling, a 512-token
cap, no repetition stop or soft cap, "Be concise." in the prompt, and the model answering
"What do you know about me?" itself. `--controls on` adds DRY sampling, the 200-token cap, the
stops and "Answer in one to three short sentences."; `--answer memories` answers that question
from the recalled memories.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from datetime import date
from typing import Any

from bench.common import percentile, print_table, write_json
from chatapp.repetition import without_repeat
from chatapp.reply import ReplyModel, StreamReport
from chatapp.turn import build_messages, memory_answer, select_memories
from memory import Memory, MemoryConfig

FACTS = "Hi! I'm Maria. I live in Lisbon. I love playing chess."
WITH_MEMORIES = [
    "What do you know about me?",
    "Where do I live?",
    "What's my name?",
    "Suggest a weekend activity for me.",
    "What game do I enjoy?",
    "Can you recommend a day trip near where I live?",
    "Write a short greeting for me.",
    "What should I cook tonight?",
    "Tell me something you remember about me.",
    "Do you remember my hobby?",
]
WITHOUT_MEMORIES = [
    "Hello!",
    "Tell me a joke.",
    "What is the capital of France?",
    "Explain photosynthesis in one sentence.",
    "Give me three tips for sleeping better.",
    "Who are you?",
    "Write a haiku about the sea.",
    "What's 12 times 7?",
    "How do I boil an egg?",
    "日本の首都はどこですか？",
]
# Three facts and the words that show a reply names each one.
PEOPLE = [
    ("I'm Maria. I live in Lisbon. I love playing chess.", ["maria", "lisbon", "chess"]),
    ("My name is Ken. I work as a nurse. I have two cats.", ["ken", "nurse", "cat"]),
    ("I'm Priya. I'm allergic to peanuts. I play the violin.", ["priya", "peanut", "violin"]),
    ("I live in Oslo. I drive a Tesla. My favourite food is ramen.", ["oslo", "tesla", "ramen"]),
    ("I'm Tom. I study physics. I never drink coffee.", ["tom", "physics", "coffee"]),
    ("My name is Lena. I speak German and French. I have a dog named Rex.", ["lena", "german", "rex"]),
    ("I work at a bakery. I live in Paris. I enjoy hiking.", ["bakery", "paris", "hiking"]),
    ("I'm Yuki. I love sushi. I run every morning.", ["yuki", "sushi", "run"]),
    ("I'm 34. I have two kids. I play the guitar.", ["34", "kid", "guitar"]),
    ("My name is Omar. I live in Cairo. I'm a teacher.", ["omar", "cairo", "teacher"]),
]
ABOUT_ME = "What do you know about me?"


def _memory(folder: str, controls: bool) -> Memory:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MEMORY_", "MILVUS_"))}
    env["MEMORY_LLM_REPETITION_CONTROLS"] = "true" if controls else "false"
    if not controls:
        env["MEMORY_LLM_MAX_TOKENS"] = "512"  # the cap before the controls existed
    config = MemoryConfig.from_dict(
        {"vector_store": {"provider": "milvus", "config": {"url": f"{folder}/r.db"}}}, env=env
    )
    return Memory(config)


async def _reply(memory: Memory, user: str | None, text: str, answer: str, brief: bool) -> dict[str, Any]:
    recalled = None
    if user is not None:
        hits = memory.search(text, user_id=user, limit=5)["results"]
        recalled = select_memories(hits, 800)
    started = time.perf_counter()
    canned = memory_answer(text, recalled) if answer == "memories" else None
    report = StreamReport()
    if canned is not None:
        reply = canned
    else:
        messages = build_messages(recalled, [], text, date.today(), 2500, brief=brief)
        model = ReplyModel(memory.config.llm)
        reply = "".join([piece async for piece in model.stream(messages, report=report)])
        if report.guarded:
            reply = without_repeat(reply)
    seconds = time.perf_counter() - started
    capped = report.finish_reason == "length" and not report.stopped_at_soft_cap
    looped = capped or without_repeat(reply) != reply
    return {
        "prompt": text,
        "memories": recalled is not None,
        "seconds": seconds,
        "tokens": report.pieces,
        "looped": looped,
        "capped": capped,
        "repetition_stop": report.stopped_repeating,
        "soft_cap_stop": report.stopped_at_soft_cap,
        "reply": reply,
    }


async def run(controls: bool, answer: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        memory = _memory(folder, controls)
        try:
            memory.add(FACTS, user_id="maria")
            await _reply(memory, None, "Hello!", answer, controls)  # warm-up: the model server starts
            rows = [await _reply(memory, "maria", p, answer, controls) for p in WITH_MEMORIES]
            rows += [await _reply(memory, None, p, answer, controls) for p in WITHOUT_MEMORIES]
            hits = []
            for number, (facts, words) in enumerate(PEOPLE):
                user = f"person-{number}"
                memory.add(facts, user_id=user)
                reply = (await _reply(memory, user, ABOUT_ME, answer, controls))["reply"].lower()
                named = [w for w in words if re.search(rf"\b{re.escape(w)}", reply)]
                hits.append({"facts": facts, "named": named, "hit": len(named) >= 2, "reply": reply[:300]})
        finally:
            memory.close()
    seconds = [r["seconds"] for r in rows]
    return {
        "controls": controls,
        "answer": answer,
        "prompts": len(rows),
        "loop_rate": sum(r["looped"] for r in rows) / len(rows),
        "capped": sum(r["capped"] for r in rows),
        "repetition_stop_rate": sum(r["repetition_stop"] for r in rows) / len(rows),
        "soft_cap_stop_rate": sum(r["soft_cap_stop"] for r in rows) / len(rows),
        "reply_seconds_p50": percentile(seconds, 50),
        "reply_seconds_p95": percentile(seconds, 95),
        "reply_tokens_p95": percentile([float(r["tokens"]) for r in rows], 95),
        "know_about_me_hits": sum(h["hit"] for h in hits),
        "know_about_me_runs": len(hits),
        "replies": rows,
        "know_about_me": hits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--controls", choices=["on", "off"], default="on")
    parser.add_argument("--answer", choices=["memories", "model"], default="memories")
    parser.add_argument("--out")
    args = parser.parse_args()
    result = asyncio.run(run(args.controls == "on", args.answer))
    print_table(
        [{**r, "reply": r["reply"][:70].replace("\n", " ")} for r in result["replies"]],
        ["prompt", "seconds", "tokens", "looped", "repetition_stop", "soft_cap_stop", "reply"],
    )
    print()
    keys = [
        "loop_rate",
        "repetition_stop_rate",
        "soft_cap_stop_rate",
        "reply_seconds_p50",
        "reply_seconds_p95",
        "reply_tokens_p95",
    ]
    print_table(
        [{k: result[k] for k in ["controls", "answer", *keys, "know_about_me_hits"]}],
        ["controls", "answer", *keys, "know_about_me_hits"],
    )
    suffix = "" if (args.controls, args.answer) == ("on", "memories") else f"-{args.controls}-{args.answer}"
    print("wrote", write_json(result, args.out, f"replies{suffix}"))


if __name__ == "__main__":
    main()
