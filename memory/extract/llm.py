"""The LLM extractor: one chat call with a JSON schema sees the messages and the nearest existing
memories under short ids "0", "1", ... (never UUIDs) and returns ADD / UPDATE / DELETE."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ExtractionError
from ..models import MAX_VARCHAR, Operation, Record, text_hash
from ..prompts import quoted, render_prompt
from ..providers import ChatClient, parse_json_object
from ..tokens import count_tokens, truncate_to_tokens
from .base import Lookup, Plan

__all__ = [
    "EXTRACTION_SCHEMA",
    "LLMExtractor",
    "candidate_queries",
    "conversation_text",
    "validate_operations",
]

logger = logging.getLogger(__name__)

MAX_PROMPT_MESSAGE_TOKENS = 6_000


# Statements of one message looked up separately for the candidates (one embedding request).
MAX_CANDIDATE_QUERIES = 16


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


_STATEMENT_BREAK = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？])|\n+|,\s+(?:but|so|and|because)\s+", re.I)


def candidate_queries(messages: Sequence[dict[str, str]], limit: int) -> list[str]:
    """The user's statements (sentences and clauses), each looked up on its own; the whole text
    first, so a short message costs one query. At most `limit` queries of 2,000 characters."""
    text = "\n".join(m["content"] for m in messages if m["role"] == "user") or messages[-1]["content"]
    pieces = [p.strip() for p in _STATEMENT_BREAK.split(text) if p and len(p.strip()) > 2]
    queries = list(dict.fromkeys([text[:8000], *(p[:2000] for p in pieces)]))
    return queries[:limit] if len(queries) > 2 else queries[:1]


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

    def __init__(self, chat: ChatClient, max_operations: int = 50, candidate_limit: int = 10) -> None:
        self.chat = chat
        self.max_operations = max_operations
        self.candidate_limit = candidate_limit

    def warm_up(self) -> None:
        """Nothing is loaded on first use."""

    def plan(self, messages: Sequence[dict[str, str]], today: date, lookup: Lookup) -> Plan:
        """The memories nearest to each statement of the user's messages (all statements embedded
        in one request), so a contradicted memory is found even when the message talks about
        other things too; then one model call."""
        seen = lookup(candidate_queries(messages, MAX_CANDIDATE_QUERIES), "query", cap=2 * self.candidate_limit)
        return Plan(self.extract(messages, seen.records, today), seen)

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
