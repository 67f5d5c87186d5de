"""What every extractor shares: it turns a conversation into a `Plan` of operations, looking up
the memories it may change through a `Lookup` that the facade gives it.

The facade runs `plan` without holding the user's lock (an LLM call may take the model's whole
timeout), then, under the lock, searches again with the same query vectors: if the candidates are
what the plan saw, it is applied; if not, planned once more (see `_memory.Memory.add`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from ..models import Operation, Record
from ..providers import Purpose

__all__ = ["Candidates", "Extractor", "Lookup", "Plan"]


@dataclass(frozen=True)
class Candidates:
    """The memories an extraction was shown, and the query vectors that found them."""

    queries: list[list[float]]
    cap: int | None
    records: list[Record]

    def same_as(self, other: Candidates) -> bool:
        return {(r.id, r.hash) for r in self.records} == {(r.id, r.hash) for r in other.records}


class Lookup(Protocol):
    def __call__(self, texts: Sequence[str], purpose: Purpose, cap: int | None = None) -> Candidates:
        """Embed `texts` in one request and return each one's nearest memories, merged rank by
        rank (the best of every text first), without repeats, at most `cap`."""
        ...


@dataclass(frozen=True)
class Plan:
    operations: list[Operation]
    seen: Candidates | None = None  # None: the plan needed no memories
    vectors: dict[str, list[float]] = field(default_factory=dict)  # new texts already embedded


class Extractor(Protocol):
    name: str

    def plan(self, messages: Sequence[dict[str, str]], today: date, lookup: Lookup) -> Plan:
        """The operations the user's messages call for, against the memories `lookup` finds."""
        ...

    def warm_up(self) -> None:
        """Load now what the first `plan` would load on first use."""
        ...
