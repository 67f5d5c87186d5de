"""What a user's message means for memory: facts about them, a request to forget, or nothing.

Each sentence, then each clause, becomes at most one `Statement`:
- "fact": a memory text in the third person without a subject ("Lives in Berlin"), or with the
  other person as subject ("Sister Aiko lives in Nara"); Japanese keeps the user's words;
- "forget": the topic the user wants forgotten ("where I work", "趣味").
Questions, greetings, thanks and talk about the conversation itself give nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from .dates import absolute_dates
from .parse import english_words, is_base_verb, is_japanese, is_past, ja_tokens, pos_of, sentences
from .wording import capitalize, clause_fact

__all__ = ["Statement", "statements"]


@dataclass(frozen=True)
class Statement:
    kind: Literal["fact", "forget"]
    text: str


def statements(text: str, today: date) -> list[Statement]:
    found: list[Statement] = []
    for sentence in sentences(text.replace("\u2019", "'").replace("\u2018", "'")):
        made = _japanese(sentence, today) if is_japanese(sentence) else _english(sentence, today)
        found.extend(s for s in made if s not in found)
    return found


# -- English ---------------------------------------------------------------------------------

_FORGET = re.compile(
    r"^(?:(?:please|pls|and|also|oh|ok|okay|now|so|actually)[\s,]+)*"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|i\s+(?:want|need|would like|'d like)\s+you\s+to\s+"
    r"|i\s+(?:don't|do not)\s+want\s+you\s+to\s+(?=remember|keep|store))?"
    r"(?:forget|erase|delete|remove|wipe|scrap|discard|stop remembering|stop storing|don't remember|do not remember"
    r"|don't keep|do not keep|no need to remember|remember|keep|store)\s+"
    r"(?:about\s+)?(?:(?:everything|anything|all|whatever|what you know|what you remember|the fact|the part"
    r"|the memory|the memories|any memories|info|information|details)\s+(?:about|that|of|regarding|on|concerning)?\s*)?"
    r"(?:that\s+)?(?P<topic>.+?)(?:\s+from\s+(?:your\s+)?memory)?(?:,?\s+please)?[.!?]*$",
    re.I,
)
_NEGATED_REMEMBER = re.compile(r"\b(?:don't|do not|stop|no need to|not)\b", re.I)
_REMEMBER = re.compile(
    r"^(?:(?:please|and|also|oh|ok|okay)[\s,]+)*(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?(?:remember|note|keep in mind|don't forget|do not forget)"
    r"(?:\s+that)?\s+(?P<fact>.+?)[.!?]*$",
    re.I,
)
_QUESTION_START = re.compile(
    r"^(?:what|where|when|who|whom|whose|why|how|which|do|does|did|is|are|am|can|could|would|will|should|shall"
    r"|have|has|was|were)\b(?:'s|'re)?\s*(?:\w+\s+){0,2}?(?:i|you|my|your|it|there|we|he|she|they|the|a|this|that)\b",
    re.I,
)
_CLAUSE_SPLIT = re.compile(
    r"\s*;\s*|\s*:(?!//|\d)\s*"
    r"|,?\s+(?:but|so|because|although|though|whereas|while)\s+(?:also\s+|now\s+|then\s+|anyway\s+)*"
    r"|,\s+(?:and\s+|plus\s+|then\s+)?(?=(?:now\s+|also\s+|then\s+|anyway\s+|still\s+)*(?:I\b|I'|my\b|My\b|we\b|We\b))"
    r"|\s+(?:and|plus)\s+(?=(?:now\s+|also\s+|then\s+|still\s+)*(?:I\b|I'|my\b|My\b|we\b))"
)


def _english(sentence: str, today: date) -> list[Statement]:
    plain = sentence.strip().strip("\"'“”")
    forget = _FORGET.match(plain)
    if forget and _is_forget(plain):
        return [Statement("forget", forget.group("topic").strip(" ,.'\""))]
    remember = _REMEMBER.match(plain)
    if remember:
        return [Statement("fact", clause_fact(remember.group("fact"), today) or capitalize(remember.group("fact")))]
    if plain.endswith("?") or _QUESTION_START.match(plain):
        return []
    found = []
    for clause in _clauses(plain):
        made = clause_fact(clause, today)
        if made:
            found.append(Statement("fact", made))
    return found


def _is_forget(sentence: str) -> bool:
    """'forget ...', 'don't remember ...' and 'stop storing ...' ask to forget; 'remember ...' does not."""
    head = re.split(r"\s+(?:about|that|my|where|what|the)\b", sentence, maxsplit=1)[0].lower()
    if re.search(r"\b(?:forget|erase|delete|remove|wipe|scrap|discard)\b", head):
        return not re.search(r"\b(?:don't|do not|never)\s+forget\b", head)
    return bool(re.search(r"\b(?:remember|keep|stor)\w*", head) and _NEGATED_REMEMBER.search(head))


def _clauses(sentence: str) -> list[str]:
    pieces = [p.strip(" ,") for p in _CLAUSE_SPLIT.split(sentence) if p and p.strip(" ,")]
    out: list[str] = []
    for piece in pieces:
        out.extend(_split_coordinated_verbs(piece))
    return out


def _split_coordinated_verbs(clause: str) -> list[str]:
    """'I live in Paris and work at a bakery' -> both halves with the subject 'I'."""
    match = re.match(r"^(.*?\bI\s+)(.+)$", clause)
    if not match:
        return [clause]
    subject_part, rest = match.groups()
    parts = re.split(r"\s+and\s+", rest)
    merged = [parts[0]]
    for part in parts[1:]:
        if _starts_a_verb_phrase(part.split()):
            merged.append(part)
        else:
            merged[-1] += " and " + part
    return [subject_part + merged[0], *("I " + part for part in merged[1:])]


def _starts_a_verb_phrase(words: list[str]) -> bool:
    """'work at a bakery' does; 'dogs', 'travel' (at the end) and 'English' do not."""
    if len(words) < 2 or not (is_base_verb(words[0]) or is_past(words[0])):
        return False
    return "NOUN" not in pos_of(words[0]) or words[1].lower() in _PREPOSITIONS | {"a", "an", "the"}


_PREPOSITIONS = {"at", "in", "on", "for", "as", "to", "with", "from", "near", "by", "into", "about"}


# -- Japanese --------------------------------------------------------------------------------

_JA_FORGET = re.compile(
    r"^(?P<topic>.+?)(?:のこと|について|に関すること|に関して)?(?:は|を|も)?(?:全部|すべて|全て|もう)?"
    r"(?:忘れて|忘れろ|忘れてください|覚えないで|記憶しないで|削除して|消して)"
)
_JA_REMEMBER = re.compile(r"^(?P<fact>.+?)(?:ということ|こと)?(?:を|って)?(?:覚えて|記憶して)")
_JA_SELF = re.compile(r"^(?:私|わたし|僕|ぼく|俺|おれ|自分|あたし)(?:は|が|も|って)")
_JA_SELF_OWN = re.compile(r"^(?:私|わたし|僕|ぼく|俺|おれ|自分|あたし)の")
_JA_CONTENT = {"名詞", "動詞", "形容詞", "形状詞", "代名詞"}


def _japanese(sentence: str, today: date) -> list[Statement]:
    s = sentence.strip().rstrip("。！!．. ")
    forget = _JA_FORGET.match(s)
    if forget:
        topic = forget.group("topic").strip("、 「」")
        return [Statement("forget", _JA_SELF_OWN.sub("", _JA_SELF.sub("", topic)))] if topic else []
    remember = _JA_REMEMBER.match(s)
    if remember:
        s = re.sub(r"(?:だ)?(?:ということ|こと|って|と)$", "", remember.group("fact").strip("、 「」"))
    if s.endswith(("か", "？", "?", "かな", "の")) or "？" in s or "?" in s:
        return []
    tokens = ja_tokens(s)
    start = 0
    while start < len(tokens) and tokens[start].pos in ("感動詞", "補助記号", "接続詞"):
        start += 1
    body = tokens[start:]
    if not any(t.pos in _JA_CONTENT for t in body) or not any(t.pos in ("名詞",) for t in body):
        return []
    if s.endswith(("ね", "よね", "な")):
        return []  # seeking agreement ("寒いですね"): small talk
    text = "".join(t.surface for t in body).strip("、 ")
    text = _JA_SELF_OWN.sub("", _JA_SELF.sub("", text)).strip("、 ")
    return [Statement("fact", absolute_dates(text, today, japanese=True))] if text else []


def english_clause_fact(text: str, today: date) -> str | None:
    """A topic such as 'I drive a Toyota' as the fact it names (used to match what to forget)."""
    return clause_fact(text, today) if english_words(text) else None
