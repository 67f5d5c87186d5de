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

from ...models import MAX_VARCHAR, Operation, Record
from ..base import Lookup, Plan
from .intents import Statement, statements
from .reconcile import plan

__all__ = ["HeuristicExtractor", "Statement"]


class HeuristicExtractor:
    """Deterministic stand-in for extraction when the chat model is too small to do it."""

    name = "heuristic"

    def __init__(self, max_operations: int = 50) -> None:
        self.max_operations = max_operations

    def plan(self, messages: Sequence[dict[str, str]], today: date, lookup: Lookup) -> Plan:
        """Statements, then the memories nearest to each (their vectors are the new facts' too)."""
        found = self.statements(messages, today)
        if not found:
            return Plan([])
        seen = lookup([s.text for s in found], "passage")
        operations = self.reconcile(found, seen.records, today)
        vectors = {s.text: v for s, v in zip(found, seen.queries, strict=True) if s.kind == "fact"}
        return Plan(operations, seen, vectors)

    def warm_up(self) -> None:
        """Load the English and Japanese lexicons (about 1.5 s of CPU) before the first user needs them."""
        self.statements([{"role": "user", "content": "I like green tea. 私は東京に住んでいます。"}], date.today())

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

    def reconcile(self, found: Sequence[Statement], candidates: Sequence[Record], today: date) -> list[Operation]:
        return plan(found, candidates, today)[: self.max_operations]
