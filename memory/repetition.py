"""Stopping a reply that repeats itself (a small local model can loop until its token cap)."""

from __future__ import annotations

import re

__all__ = ["RepetitionGuard", "without_repeat"]


class RepetitionGuard:
    """Fed a reply piece by piece; says when its last `span` characters already appeared earlier.

    A verbatim repeat of 32 characters (about six words) in one chat reply is a loop, not prose.
    Spaces and case are ignored, so "I'm happy to help!  I'm happy to help!" is caught.
    """

    def __init__(self, span: int = 32) -> None:
        self.span = span
        self._text = ""

    def repeats(self, piece: str) -> bool:
        self._text += re.sub(r"\s+", " ", piece.lower())
        if len(self._text) < 2 * self.span:
            return False
        tail = self._text[-self.span :]
        return self._text.find(tail) < len(self._text) - self.span


def without_repeat(text: str, span: int = 32) -> str:
    """`text` cut before its first stretch of `span` characters that repeats an earlier one,
    back to the last sentence end (or word) before it."""
    low = text.lower()
    for start in range(1, len(low) - span + 1):
        if low.find(low[start : start + span]) < start:
            kept = text[:start]
            sentence_end = max(kept.rfind(mark) for mark in ".!?。！？\n")
            if sentence_end > 0:
                return kept[: sentence_end + 1].rstrip()
            return kept.rsplit(" ", 1)[0].rstrip(" ,;:") if " " in kept else kept
    return text
