"""Turning a conversation into memory operations.

Two extractors with one output, a list of `Operation`:
- `LLMExtractor`: one chat call with a JSON schema sees the messages and the nearest
  existing memories under short ids "0", "1", ... and returns ADD / UPDATE / DELETE.
- `HeuristicExtractor`: deterministic rules for the offline default model, which is too
  small to extract; statements about oneself, "remember ...", "forget ..." (English, Japanese).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ExtractionError
from .filters import MAX_VARCHAR
from .llm import ChatClient, parse_json_object
from .prompts import quoted, render_prompt
from .store import Record
from .tokens import count_tokens, truncate_to_tokens

__all__ = [
    "EXTRACTION_SCHEMA",
    "HeuristicExtractor",
    "LLMExtractor",
    "Operation",
    "Statement",
    "conversation_text",
    "subject_key",
    "text_hash",
    "validate_operations",
]

logger = logging.getLogger(__name__)

MAX_PROMPT_MESSAGE_TOKENS = 6_000


def text_hash(text: str) -> str:
    """md5 of the text, as the tutorial's `hash` field shows."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Operation:
    """ADD carries text; UPDATE a target and text; DELETE a target."""

    event: Literal["ADD", "UPDATE", "DELETE"]
    text: str = ""
    target: Record | None = None


def conversation_text(messages: Sequence[dict[str, str]]) -> str:
    """One JSON object per message (data the model cannot mistake for instructions), within a token budget."""
    lines, budget = [], MAX_PROMPT_MESSAGE_TOKENS
    for message in messages:
        if message["role"] == "system" or budget <= 0:
            continue
        content = truncate_to_tokens(message["content"], budget)
        budget -= count_tokens(content)
        lines.append(quoted({"role": message["role"], "content": content}))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# One LLM call
# --------------------------------------------------------------------------------------

EXTRACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "operations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "event": {"type": "string", "enum": ["ADD", "UPDATE", "DELETE"]},
                    "id": {"type": ["string", "null"]},
                    "text": {"type": ["string", "null"]},
                },
                "required": ["event", "id", "text"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["operations"],
    "additionalProperties": False,
}


class _RawOperation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event: Literal["ADD", "UPDATE", "DELETE"]
    id: str | int | None = None
    text: str | None = None


class _RawOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    operations: list[_RawOperation]


class LLMExtractor:
    name = "llm"

    def __init__(self, chat: ChatClient, max_operations: int = 50) -> None:
        self.chat = chat
        self.max_operations = max_operations

    def extract(self, messages: Sequence[dict[str, str]], candidates: Sequence[Record], today: date) -> list[Operation]:
        prompt = render_prompt(
            "extract",
            today=today.isoformat(),
            weekday=today.strftime("%A"),
            memories="\n".join(quoted({"id": str(i), "text": c.memory}) for i, c in enumerate(candidates)) or "(none)",
            conversation=conversation_text(messages),
        )
        chat = [{"role": "system", "content": prompt}, {"role": "user", "content": "Return the operations as JSON."}]
        problem = ""
        for attempt in (1, 2):
            raw = self.chat.complete_json(chat, "memory_operations", EXTRACTION_SCHEMA)
            try:
                parsed = _RawOutput.model_validate(parse_json_object(raw))
            except (json.JSONDecodeError, ValidationError, TypeError) as exc:
                problem = _one_line(exc)
                logger.warning("extraction output unusable (attempt %d): %s", attempt, problem)
                continue
            return validate_operations(parsed.operations, candidates, self.max_operations)
        raise ExtractionError(
            f"the model's extraction output was malformed twice ({problem}); nothing was changed. "
            "Try again, or use a model with JSON-schema support"
        )


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}" for e in exc.errors()[:3])
        return f"not the expected shape: {details}"
    return f"not JSON: {str(exc)[:120]}"


def validate_operations(
    raw: Sequence[_RawOperation], candidates: Sequence[Record], max_operations: int
) -> list[Operation]:
    """Drop what cannot be applied; an UPDATE of an unknown id becomes an ADD."""
    by_short_id = {str(i): c for i, c in enumerate(candidates)}
    known_hashes = {c.hash for c in candidates}
    touched: set[str] = set()
    operations: list[Operation] = []
    for op in raw:
        text = (op.text or "").strip()
        target = by_short_id.get(str(op.id)) if op.id is not None else None
        if op.event == "DELETE":
            if target is None or target.id in touched:
                continue
            touched.add(target.id)
            operations.append(Operation("DELETE", target=target))
            continue
        if not text:
            continue
        if len(text.encode()) > MAX_VARCHAR:
            logger.warning(
                "dropped a %d-byte fact from the model: a memory is at most %d bytes", len(text.encode()), MAX_VARCHAR
            )
            continue
        digest = text_hash(text)
        if op.event == "UPDATE" and target is not None and target.id not in touched:
            if digest == target.hash:
                continue  # unchanged
            touched.add(target.id)
            known_hashes.add(digest)
            operations.append(Operation("UPDATE", text=text, target=target))
            continue
        if digest in known_hashes:
            continue  # a duplicate by hash
        known_hashes.add(digest)
        operations.append(Operation("ADD", text=text))
    if len(operations) > max_operations:
        logger.warning("the model returned %d operations; keeping the first %d", len(operations), max_operations)
        operations = operations[:max_operations]
    return operations


# --------------------------------------------------------------------------------------
# The offline heuristic
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    kind: Literal["fact", "forget"]
    text: str


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*|\n+")
_LEADING_ADVERBS = re.compile(
    r"^(?:now|really|also|actually|still|usually|just|currently|recently|totally|definitely)\s+", re.I
)
_EN_FORGET = re.compile(r"^(?:please\s+)?forget\s+(?:that\s+|about\s+)?(.+)$", re.I)
_EN_REMEMBER = re.compile(r"^(?:please\s+)?remember\s+(?:that\s+)?(.+)$", re.I)
_JA_FORGET = re.compile(r"^(.+?)(?:のこと)?(?:は|を)?忘れて")
_JA_REMEMBER = re.compile(r"^(.+?)(?:ということ|こと)?(?:を|って)?覚えて")
_JA_SELF = re.compile(r"^(?:私|わたし|僕|ぼく|俺|おれ|自分)(?:は|が|の)")
_JA_TOPIC_PREFIX = re.compile(r"^(?:私|わたし|僕|ぼく|俺|おれ|自分)(?:は|が)")
_JA_OWN_PREFIX = re.compile(r"^(?:私|わたし|僕|ぼく|俺|おれ|自分)の")
_JA_ATTRIBUTE = re.compile(r"^(.{1,20}?)は(.+)$")
_EN_ATTRIBUTE = re.compile(r"^(.{1,40}?)\s+(?:is|are)\s+(.+)$", re.I)

_IRREGULAR = {
    "am": "Is",
    "'m": "Is",
    "have": "Has",
    "'ve": "Has",
    "do": "Does",
    "was": "Was",
    "can": "Can",
    "will": "Will",
    "'ll": "Will",
    "would": "Would",
    "should": "Should",
    "could": "Could",
    "must": "Must",
    "might": "Might",
    "'d": "Would",
}
_NEGATIONS = {
    "don't": "Does not",
    "do not": "Does not",
    "can't": "Cannot",
    "cannot": "Cannot",
    "won't": "Will not",
    "am not": "Is not",
    "'m not": "Is not",
    "didn't": "Did not",
    "haven't": "Has not",
    "never": "Never",
}
_PROPER_NAME = re.compile(r"^[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2}$")
_CLAUSE_BREAK = re.compile(r",?\s+and\s+(?=I\b|I'|my\b|My\b)|,\s*(?=I\b|I'|My\b)|;\s*")
_EXCLUSIVE_VERBS = {"prefers", "lives", "works", "studies", "moved"}
_STOPWORDS = {"a", "an", "the", "my", "i", "that", "about", "me", "to", "of", "in", "on", "is", "am", "and", "please"}


def _third_person(verb: str) -> str:
    lower = verb.lower()
    if re.search(r"(s|sh|ch|x|z|o)$", lower):
        return verb + "es"
    if re.search(r"[^aeiou]y$", lower):
        return verb[:-1] + "ies"
    return verb + "s"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _absolute_dates(text: str, today: date) -> str:
    def on(day: date) -> str:
        return day.isoformat()

    replacements = [
        (r"\bday after tomorrow\b", "on " + on(today + timedelta(days=2))),
        (r"\btomorrow\b", "on " + on(today + timedelta(days=1))),
        (r"\byesterday\b", "on " + on(today - timedelta(days=1))),
        (r"\btoday\b", "on " + on(today)),
        (r"\bnext week\b", "in the week of " + on(today + timedelta(days=7 - today.weekday()))),
        (r"\blast week\b", "in the week of " + on(today - timedelta(days=7 + today.weekday()))),
        (r"明後日", on(today + timedelta(days=2)) + "に"),
        (r"明日", on(today + timedelta(days=1)) + "に"),
        (r"昨日", on(today - timedelta(days=1)) + "に"),
        (r"今日", on(today) + "に"),
        (r"来週", on(today + timedelta(days=7 - today.weekday())) + "の週に"),
    ]
    for pattern, value in replacements:
        text = re.sub(pattern, value, text, flags=re.I)
    return re.sub(r"\bon on\b", "on", re.sub(r"にに", "に", text))


def _english_fact(sentence: str) -> str | None:
    """'I am working on my tennis' -> 'Working on tennis'; None if not about oneself."""
    s = sentence.strip().rstrip(".!")
    match = re.match(r"^(?:I|i)(\s+|'(?=[a-z]))(.+)$", s)
    if match:
        rest = (("'" if match.group(1) == "'" else "") + match.group(2)).strip()
        rest = _LEADING_ADVERBS.sub("", rest)
        for neg, replacement in sorted(_NEGATIONS.items(), key=lambda kv: -len(kv[0])):
            if rest.lower().startswith(neg + " "):
                return _strip_my(f"{replacement} {rest[len(neg) + 1 :]}")
        head, _, tail = rest.partition(" ")
        key = head.lower()
        if key in ("am", "'m") and _PROPER_NAME.match(tail):
            return f"Name is {tail}"
        if key in ("am", "'m") and re.match(r"^\w+ing\b", tail):
            return _strip_my(_capitalize(tail))
        if key in _IRREGULAR:
            return _strip_my(f"{_IRREGULAR[key]} {tail}".strip())
        if not re.match(r"^[a-z]+$", key):
            return None
        return _strip_my(f"{_capitalize(_third_person(head))} {tail}".strip())
    match = re.match(r"^(?:My|my)\s+(.+)$", s)
    if match:
        return _capitalize(_strip_my(match.group(1)))
    return None


def _strip_my(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\bmy\s+", "", text, flags=re.I)).strip()


def _japanese_fact(sentence: str) -> str | None:
    s = sentence.strip().rstrip("。！!")
    if not _JA_SELF.match(s) or s.endswith(("か", "？", "?")):
        return None
    s = _JA_OWN_PREFIX.sub("", _JA_TOPIC_PREFIX.sub("", s)).strip("、 ")
    return s or None


def _is_japanese(text: str) -> bool:
    return bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text))


def subject_key(fact: str) -> str | None:
    """A key shared by facts that cannot both be true ('Name is Alice' / 'Name is Bob')."""
    if _is_japanese(fact):
        match = _JA_ATTRIBUTE.match(fact)
        return "ja:" + match.group(1) if match else None
    words = fact.split()
    if not words:
        return None
    first = words[0].lower()
    if first in _EXCLUSIVE_VERBS:
        preposition = words[1].lower() if len(words) > 1 and words[1].lower() in {"in", "at", "as", "to"} else ""
        return f"en:{first} {preposition}".strip()
    match = _EN_ATTRIBUTE.match(fact)
    if match and len(match.group(1).split()) <= 4 and first not in {"is", "has", "was"}:
        return "en:" + match.group(1).lower()
    return None


class HeuristicExtractor:
    """Deterministic stand-in for extraction when the chat model is too small to do it."""

    name = "heuristic"

    def __init__(self, near_duplicate_similarity: float = 0.92, max_operations: int = 50) -> None:
        self.near_duplicate_similarity = near_duplicate_similarity
        self.max_operations = max_operations

    def statements(self, messages: Sequence[dict[str, str]], today: date) -> list[Statement]:
        found: list[Statement] = []
        for message in messages:
            if message["role"] != "user":
                continue
            for sentence in _SENTENCE_END.split(message["content"]):
                for clause in _CLAUSE_BREAK.split(sentence):
                    statement = self._statement(clause.strip(), today)
                    if statement and statement not in found and len(statement.text.encode()) <= MAX_VARCHAR:
                        found.append(statement)
        return found[: self.max_operations]

    def _statement(self, sentence: str, today: date) -> Statement | None:
        if not sentence or sentence.endswith(("?", "？")):
            return None
        sentence = _absolute_dates(sentence, today)
        for pattern in (_EN_FORGET, _JA_FORGET):
            match = pattern.match(sentence)
            if match:
                return Statement("forget", match.group(1).strip(" 、。.「」"))
        for pattern in (_EN_REMEMBER, _JA_REMEMBER):
            match = pattern.match(sentence)
            if match:
                inner = re.sub(r"(?:だ)?(?:ということ|こと|って|と)$", "", match.group(1).strip(" 、。.「」"))
                fact = _english_fact(inner) or _japanese_fact(inner) or _capitalize(inner)
                return Statement("fact", fact)
        about_oneself = _english_fact(sentence) or _japanese_fact(sentence)
        return Statement("fact", about_oneself) if about_oneself else None

    def plan(
        self,
        statements: Sequence[Statement],
        vectors: Sequence[Sequence[float]],
        candidates: Sequence[Record],
    ) -> list[Operation]:
        """Decide ADD / UPDATE / DELETE against candidates that carry their vectors."""
        operations: list[Operation] = []
        touched: set[str] = set()
        hashes = {c.hash for c in candidates}
        cand_matrix = _normalized([c.vector or [] for c in candidates]) if candidates else None
        for statement, vector in zip(statements, vectors, strict=True):
            similarities = (cand_matrix @ _normalized([vector])[0]) if cand_matrix is not None else np.array([])
            if statement.kind == "forget":
                for index in self._forget_targets(statement.text, candidates, similarities):
                    if candidates[index].id not in touched:
                        touched.add(candidates[index].id)
                        operations.append(Operation("DELETE", target=candidates[index]))
                continue
            digest = text_hash(statement.text)
            if digest in hashes:
                continue
            hashes.add(digest)
            target = self._update_target(statement.text, candidates, similarities, touched)
            if target is not None:
                touched.add(target.id)
                operations.append(Operation("UPDATE", text=statement.text, target=target))
            else:
                operations.append(Operation("ADD", text=statement.text))
        return operations

    def _update_target(
        self, fact: str, candidates: Sequence[Record], similarities: np.ndarray, touched: set[str]
    ) -> Record | None:
        order = [int(i) for i in np.argsort(-similarities)] if len(similarities) else []
        for index in order:
            if similarities[index] >= self.near_duplicate_similarity and candidates[index].id not in touched:
                return candidates[index]
        key = subject_key(fact)
        if key:
            for index in order:
                if subject_key(candidates[index].memory) == key and candidates[index].id not in touched:
                    return candidates[index]
        return None

    def _forget_targets(self, query: str, candidates: Sequence[Record], similarities: np.ndarray) -> list[int]:
        if _is_japanese(query):
            needle = re.sub(r"^(?:私|わたし|僕|俺)(?:の|が|は)", "", query)
            return [i for i, c in enumerate(candidates) if needle and needle in c.memory]
        words = _content_words(_english_fact(query) or query)
        hits = [i for i, c in enumerate(candidates) if words and words <= _content_words(c.memory)]
        if hits:
            return hits
        if len(similarities) and similarities.max() >= self.near_duplicate_similarity:
            return [int(similarities.argmax())]
        return []


def _content_words(text: str) -> set[str]:
    """Lower-cased words without stopwords or a plural/third-person 's'."""
    words = re.findall(r"[\w']+", text.lower())
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOPWORDS}


def _normalized(rows: Sequence[Sequence[float]]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: np.ndarray = matrix / norms
    return normalized
