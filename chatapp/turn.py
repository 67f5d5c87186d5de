"""One turn's prompt: recalled memories within a token budget, quoted as data, plus recent turns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from memory import count_tokens, quoted, render_prompt

__all__ = [
    "build_messages",
    "extraction_messages",
    "fit_history",
    "memory_answer",
    "recalled_step_text",
    "relevance",
    "select_memories",
]

Message = dict[str, str]
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def select_memories(hits: Sequence[Mapping[str, Any]], budget_tokens: int) -> list[Mapping[str, Any]]:
    """The best hits, in order, until the next one would pass the token budget."""
    chosen: list[Mapping[str, Any]] = []
    used = 0
    for hit in hits:
        cost = count_tokens(quoted(hit["memory"])) + 1
        if used + cost > budget_tokens:
            break
        chosen.append(hit)
        used += cost
    return chosen


def fit_history(history: Sequence[Message], budget_tokens: int) -> list[Message]:
    """The most recent turns that fit the budget, oldest first."""
    kept: list[Message] = []
    used = 0
    for message in reversed(history):
        cost = count_tokens(message["content"]) + 4
        if used + cost > budget_tokens:
            break
        kept.append(message)
        used += cost
    return list(reversed(kept))


def build_messages(
    memories: Sequence[Mapping[str, Any]] | None,
    history: Sequence[Message],
    user_message: str,
    today: date,
    history_budget: int,
    brief: bool = False,
) -> list[Message]:
    """System prompt, recent turns, the memories as quoted data (None: memory is off), the user's message.
    `brief` asks for one to three sentences (the offline model, which otherwise rambles).

    The memories come last, not in the system prompt: the start of the prompt then stays the same
    from turn to turn, so a server's prompt cache (llama.cpp, OpenAI) skips re-reading the history.
    """
    length = "Answer in one to three short sentences." if brief else "Be concise."
    system = render_prompt("chat_system", today=today.isoformat(), weekday=today.strftime("%A"), length=length)
    messages = [{"role": "system", "content": system}, *fit_history(history, history_budget)]
    if memories is not None:
        lines = "\n".join(quoted(m["memory"]) for m in memories) or "(none yet)"
        messages.append({"role": "system", "content": render_prompt("chat_memories", memories=lines)})
    return [*messages, {"role": "user", "content": user_message}]


def extraction_messages(history: Sequence[Message], user_message: str) -> list[Message]:
    """What a turn's extraction reads: the user's message, with the assistant's previous reply as context
    (so "yes, that one" can be understood). Facts come only from the user's words."""
    previous = [history[-1]] if history and history[-1]["role"] == "assistant" else []
    return [*previous, {"role": "user", "content": user_message}]


_ABOUT_ME = re.compile(
    r"\b(?:what|anything|everything|tell me)\b.*\b(?:know|remember|recall|stored|saved)\b.*\babout me\b"
    r"|\bwhat do you (?:know|remember)\b(?!.*\b(?:about|of)\s+(?!me\b))"
    r"|(?:私|わたし|僕|俺)(?:について|のこと).*(?:知って|覚えて|記憶)",
    re.I,
)


def memory_answer(user_message: str, memories: Sequence[Mapping[str, Any]] | None) -> str | None:
    """'What do you know about me?' answered from the recalled memories themselves, or None.

    For the offline model: at 135M parameters it names the memories in its prompt only now and
    then (bench/replies.py), while the memories are exactly what the app knows.
    """
    if memories is None or not _ABOUT_ME.search(user_message):
        return None
    japanese = bool(_JAPANESE.search(user_message))
    if not memories:
        return (
            "まだあなたについて何も覚えていません。自己紹介していただければ覚えます。"
            if japanese
            else "I don't remember anything about you yet. Tell me about yourself and I will remember it."
        )
    lines = "\n".join(f"- {m['memory']}" for m in memories)
    heading = "あなたについて覚えていること：" if japanese else "Here is what I remember about you:"
    return f"{heading}\n{lines}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _escaped(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def relevance(score: float, metric: str) -> float:
    """A search score as cosine similarity (1 is the same meaning). Milvus's L2 score is the squared
    distance, which for unit-length embeddings (OpenAI's, E5's) is 2 - 2·cosine."""
    return max(-1.0, min(1.0, 1.0 - score / 2.0)) if metric == "L2" else score


def recalled_step_text(memories: Sequence[Mapping[str, Any]], metric: str) -> tuple[str, str]:
    """The recalled step's title and body: how many memories were recalled and, for each, its
    relevance and a link to it in the Memories panel (public/memory-ui.js opens the panel on
    `#memory-<id>` links)."""
    if not memories:
        return "No memories recalled", "Nothing from your memories was used for this reply."
    lines = [
        f"- [{_escaped(str(m['memory']))}](#memory-{m['id']}) · relevance "
        f"{relevance(float(m.get('score') or 0), metric):.2f}"
        for m in memories
    ]
    count = len(memories)
    return f"Recalled {count} {'memory' if count == 1 else 'memories'}", "\n".join(lines)
