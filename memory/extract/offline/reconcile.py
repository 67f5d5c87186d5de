"""Deciding ADD / UPDATE / DELETE: new statements against the user's nearest memories, each
described by `facets.describe`. A new value for a slot updates the old memory; a negative
statement updates the positive memory it contradicts; a restatement changes nothing; a forget
request deletes the memories its topic names (forgetting.py), and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from ...models import Operation, Record, text_hash
from .facets import Facet, describe
from .forgetting import forget_targets
from .intents import Statement
from .parse import content_sequence, stem

__all__ = ["Facet", "describe", "forget_targets", "plan"]


def _overlap(a: Facet, b: Facet) -> int:
    return len({stem(t) for t in a.key_terms} & {stem(t) for t in b.key_terms})


def plan(statements: Sequence[Statement], candidates: Sequence[Record], today: date) -> list[Operation]:
    """Operations for the statements; positive facts first, so "I quit X. Now I work at Y" updates once."""
    described = [(c, describe(c.memory)) for c in candidates]
    hashes = {c.hash for c in candidates}
    touched: set[str] = set()
    replaced: set[str] = set()
    operations: list[Operation] = []
    for statement in statements:
        if statement.kind == "forget":
            for record in forget_targets(statement.text, described, today):
                if record.id not in touched:
                    touched.add(record.id)
                    operations.append(Operation("DELETE", target=record))
    facts = [(s, describe(s.text)) for s in statements if s.kind == "fact"]
    facts.sort(key=lambda pair: pair[1].negative)
    for statement, facet in facts:
        digest = text_hash(statement.text)
        if digest in hashes:
            continue
        hashes.add(digest)
        open_ = [(c, f) for c, f in described if c.id not in touched]
        target = _same_slot(facet, open_)
        if target is not None and _restates(facet, target[1], statement.text, target[0].memory):
            continue
        if target is None and facet.negative:
            target = _contradicted(facet, [(c, f) for c, f in described if c.id not in touched or c.id in replaced])
            if target is not None and target[0].id in replaced:
                continue  # this turn already replaced that memory ("I quit Acme. Now I work at Globex")
        if target is None and not facet.negative:
            target = _contradicted(facet, open_)
        if target is None and any(_restates(facet, f, statement.text, c.memory) for c, f in open_):
            continue
        if target is None:
            operations.append(Operation("ADD", text=statement.text))
            continue
        touched.add(target[0].id)
        replaced.add(target[0].id)
        operations.append(Operation("UPDATE", text=statement.text, target=target[0]))
    return operations


def _same_slot(facet: Facet, candidates: Sequence[tuple[Record, Facet]]) -> tuple[Record, Facet] | None:
    if facet.slot is None:
        return None
    same = [(c, f) for c, f in candidates if f.slot == facet.slot]
    return max(same, key=lambda pair: _overlap(facet, pair[1])) if same else None


def _contradicted(facet: Facet, candidates: Sequence[tuple[Record, Facet]]) -> tuple[Record, Facet] | None:
    """The memory of the other polarity that shares most of this statement's key terms."""
    need = max(1, math.ceil(len(facet.key_terms) / 2))
    best, best_overlap = None, 0
    for record, other in candidates:
        if other.negative == facet.negative or other.subject != facet.subject:
            continue
        overlap = _overlap(facet, other)
        if overlap >= need and overlap > best_overlap:
            best, best_overlap = (record, other), overlap
    return best


def _restates(new: Facet, old: Facet, new_text: str, old_text: str) -> bool:
    """Nothing new: the same polarity and subject, and every key term already there, in the same order."""
    if not new.key_terms or new.negative != old.negative or new.subject != old.subject:
        return False
    old_terms = iter(stem(t) for t in content_sequence(old_text) if t in old.key_terms)
    return all(any(stem(t) == o for o in old_terms) for t in content_sequence(new_text) if t in new.key_terms)
