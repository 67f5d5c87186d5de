"""Stopping a reply that repeats itself (a small local model can loop until its token cap)."""

from __future__ import annotations

import re

__all__ = ["RepetitionGuard", "ends_sentence", "without_repeat"]

_SENTENCE_END = re.compile(r"[.!?。！？]\s*$|\n\s*$")
_OPENING_WORDS = 3
_SAME_OPENINGS = 3


def ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text))


class RepetitionGuard:
    """Fed a reply piece by piece; says when it has started to loop:
    - its last `span` characters already appeared earlier (a verbatim repeat of about six words);
    - or three of its sentences open with the same three words ("I'm programmed to ...", digits
      ignored: "Day 2 will take you ...", "Day 3 will take you ...").
    Spaces and case are ignored.
    """

    def __init__(self, span: int = 32) -> None:
        self.span = span
        self._text = ""
        self._openings: dict[str, int] = {}
        self._sentence = ""

    def repeats(self, piece: str) -> bool:
        self._text += re.sub(r"\s+", " ", piece.lower())
        return self._verbatim() or self._same_openings(piece)

    def _verbatim(self) -> bool:
        if len(self._text) < 2 * self.span:
            return False
        tail = self._text[-self.span :]
        return self._text.find(tail) < len(self._text) - self.span

    def _same_openings(self, piece: str) -> bool:
        self._sentence += piece
        parts = re.split(r"(?<=[.!?。！？])\s+|\n+", self._sentence)
        for finished in parts[:-1]:
            words = re.sub(r"\d+", "#", finished.lower()).split()
            if len(words) > _OPENING_WORDS:
                opening = " ".join(words[:_OPENING_WORDS])
                self._openings[opening] = self._openings.get(opening, 0) + 1
                if self._openings[opening] >= _SAME_OPENINGS:
                    return True
        self._sentence = parts[-1]
        return False


def without_repeat(text: str, span: int = 32) -> str:
    """`text` cut before its first stretch of `span` characters that repeats an earlier one, or
    before the third sentence with an opening already used twice; back to the last sentence end."""
    low = text.lower()
    cut = len(text)
    for start in range(1, len(low) - span + 1):
        if low.find(low[start : start + span]) < start:
            cut = start
            break
    seen: dict[str, int] = {}
    for match in re.finditer(r"[^.!?。！？\n]+[.!?。！？]?", text[:cut]):
        words = re.sub(r"\d+", "#", match.group(0).lower()).split()
        if len(words) > _OPENING_WORDS:
            opening = " ".join(words[:_OPENING_WORDS])
            seen[opening] = seen.get(opening, 0) + 1
            if seen[opening] >= _SAME_OPENINGS:
                cut = match.start()
                break
    if cut == len(text):
        return text
    kept = text[:cut]
    sentence_end = max(kept.rfind(mark) for mark in ".!?。！？\n")
    if sentence_end > 0:
        return kept[: sentence_end + 1].rstrip()
    return kept.rsplit(" ", 1)[0].rstrip(" ,;:") if " " in kept else kept
