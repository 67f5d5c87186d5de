"""Turning a conversation into memory operations: an `Extractor` protocol (base.py), the one-call
LLM extractor (llm.py) and the offline one for the small default model (offline/)."""

from __future__ import annotations

from ..config import MemoryConfig
from ..providers import ChatClient
from .base import Candidates, Extractor, Lookup, Plan

__all__ = ["Candidates", "Extractor", "Lookup", "Plan", "build_extractor"]


def build_extractor(config: MemoryConfig, chat: ChatClient) -> Extractor:
    # Imported on demand: the offline extractor loads its lexicons' packages, the LLM one needs none.
    if config.extractor == "llm":
        from .llm import LLMExtractor

        return LLMExtractor(chat, config.max_operations, config.candidate_limit)
    from .offline import HeuristicExtractor

    return HeuristicExtractor(config.max_operations)
