"""The offline extractor: deterministic rules over real morphology, in English and Japanese.

It stands in for the one-call LLM extraction when the chat model is too small to extract
(the offline default). Three steps, one module each:
- `parse`: sentences, clauses, lemmas and inflection (lemminflect, SudachiPy);
- `intents`: each clause as a fact about the user or another person, a forget request, or nothing;
- `reconcile`: those statements against the user's nearest memories, as ADD / UPDATE / DELETE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ..extraction import Operation
from ..filters import MAX_VARCHAR
from ..store import Record
from .intents import Statement, statements
from .reconcile import plan

__all__ = ["HeuristicExtractor", "Statement"]


class HeuristicExtractor:
    """Deterministic stand-in for extraction when the chat model is too small to do it."""

    name = "heuristic"

    def __init__(self, max_operations: int = 50) -> None:
        self.max_operations = max_operations

    def statements(self, messages: Sequence[dict[str, str]], today: date) -> list[Statement]:
        """What the user's messages state or ask to forget (the assistant's words are not facts)."""
        found: list[Statement] = []
        for message in messages:
            if message["role"] != "user":
                continue
            for statement in statements(message["content"], today):
                if statement not in found and len(statement.text.encode()) <= MAX_VARCHAR:
                    found.append(statement)
        return found[: self.max_operations]

    def plan(self, found: Sequence[Statement], candidates: Sequence[Record], today: date) -> list[Operation]:
        return plan(found, candidates, today)[: self.max_operations]
