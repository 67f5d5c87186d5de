"""Retrieval quality on LoCoMo (dev split): evidence recall of the memory library's search.

Each conversation becomes one user; each dialog turn is stored with `add(infer=False)`, its
`dia_id` in the metadata, as text of one of two shapes:
- plain:   "[session date] Speaker: text" (plus the caption of a shared photo);
- context: the same, then "(replying to Other: the previous turn)", so an answer such as
           "Yes, last May!" carries the words of the question it answers.
Every question of categories 1-4 is then searched in its conversation with each search mode
(`vector`: the tutorial's pure vector order; `hybrid`: vector and BM25 fused by reciprocal rank,
the library's default), and the retrieved dia_ids are compared with the question's evidence:
recall@k = evidence found by a search of limit k / evidence; any_hit@10 = at least one found
by the search of 10.

The top-level keys of the JSON are those of the library's default (hybrid, context text);
`variants` holds every combination.

    python -m bench.locomo [--data ../shared/data/locomo/locomo-dev.json] [--texts plain,context]
                           [--modes vector,hybrid] [--embedder local] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import percentile, print_table, write_json
from memory import Memory, MemoryConfig

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
DEFAULT = ("context", "hybrid")
Row = tuple[float, float, float]


def turns(conversation: dict[str, Any], shape: str = "context") -> list[tuple[str, str]]:
    """(dia_id, text to store) for every turn, session by session."""
    talk = conversation.get("conversation", conversation)
    sessions = sorted((int(m.group(1)), key) for key in talk if (m := re.fullmatch(r"session_(\d+)", key)))
    found = []
    for number, key in sessions:
        when = talk.get(f"session_{number}_date_time", "")
        previous = None
        for turn in talk[key]:
            text = f"[{when}] {turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                text += f" (shares a photo: {turn['blip_caption']})"
            if shape == "context" and previous is not None:
                text += f" (replying to {previous['speaker']}: {previous['text']})"
            found.append((turn["dia_id"], text))
            previous = turn
    return found


def evidence_ids(raw: list[str]) -> set[str]:
    ids: set[str] = set()
    for item in raw:
        ids.update(re.findall(r"D\d+:\d+", str(item)))
    return ids


def _config(folder: str, embedder: str, mode: str) -> MemoryConfig:
    return MemoryConfig.from_dict(
        {
            "vector_store": {
                "provider": "milvus",
                "config": {"url": f"{folder}/milvus.db", "collection_name": "locomo"},
            },
            "embedder": {"provider": embedder},
            "extractor": "heuristic",
            "search_mode": mode,
        },
        env={},
    )


def _ingest(memory: Memory, conversations: list[dict[str, Any]], shape: str) -> int:
    stored = 0
    for conversation in conversations:
        for dia_id, text in turns(conversation, shape):
            memory.add(text, user_id=conversation["sample_id"], metadata={"dia_id": dia_id}, infer=False)
            stored += 1
    return stored


def _evaluate(memory: Memory, conversations: list[dict[str, Any]]) -> dict[str, Any]:
    per_category: dict[int, list[Row]] = defaultdict(list)
    latencies = []
    for conversation in conversations:
        for qa in conversation["qa"]:
            wanted = evidence_ids(qa.get("evidence", []))
            if qa.get("category") not in CATEGORIES or not wanted:
                continue
            found = {}
            for k in (5, 10):  # a search of k: the order inside one result follows the vector score
                start = time.perf_counter()
                hits = memory.search(qa["question"], user_id=conversation["sample_id"], limit=k)["results"]
                latencies.append((time.perf_counter() - start) * 1000)
                found[k] = {(h["metadata"] or {}).get("dia_id") for h in hits}
            per_category[qa["category"]].append(
                (
                    len(wanted & found[5]) / len(wanted),
                    len(wanted & found[10]) / len(wanted),
                    float(bool(wanted & found[10])),
                )
            )
    everything = [row for rows in per_category.values() for row in rows]
    return {
        **_summary(everything),
        "search_p50_ms": percentile(latencies, 50),
        "search_p95_ms": percentile(latencies, 95),
        "per_category": {CATEGORIES[c]: _summary(rows) for c, rows in sorted(per_category.items())},
    }


def _summary(rows: list[Row]) -> dict[str, float]:
    return {
        "questions": len(rows),
        "recall_at_5": sum(r[0] for r in rows) / len(rows),
        "recall_at_10": sum(r[1] for r in rows) / len(rows),
        "any_hit_at_10": sum(r[2] for r in rows) / len(rows),
    }


def run(data: Path, embedder: str, shapes: list[str], modes: list[str]) -> list[dict[str, Any]]:
    conversations = json.loads(data.read_text(encoding="utf-8"))
    variants = []
    for shape in shapes:
        with tempfile.TemporaryDirectory(prefix="bench-locomo-") as tmp:
            memories = {mode: Memory(_config(tmp, embedder, mode)) for mode in modes}
            try:
                start = time.perf_counter()
                stored = _ingest(memories[modes[0]], conversations, shape)
                ingest_s = time.perf_counter() - start
                for mode, memory in memories.items():
                    variants.append(
                        {
                            "text": shape,
                            "search": mode,
                            **_evaluate(memory, conversations),
                            "memories": stored,
                            "ingest_seconds": ingest_s,
                        }
                    )
            finally:
                for memory in memories.values():
                    memory.close()
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--embedder", default="local", choices=["local", "openai"])
    parser.add_argument("--texts", default="plain,context", help="comma-separated: plain, context")
    parser.add_argument("--modes", default="vector,hybrid", help="comma-separated: vector, hybrid")
    parser.add_argument("--out")
    args = parser.parse_args()
    variants = run(args.data, args.embedder, args.texts.split(","), args.modes.split(","))
    columns = ["text", "search", "recall_at_5", "recall_at_10", "any_hit_at_10", "search_p50_ms", "search_p95_ms"]
    print_table(variants, columns)
    chosen = next((v for v in variants if (v["text"], v["search"]) == DEFAULT), variants[-1])
    print(f"\nper category, {chosen['text']} text, {chosen['search']} search:")
    rows = [{"category": name, **values} for name, values in chosen["per_category"].items()]
    rows.append(
        {"category": "overall", **{k: chosen[k] for k in ("questions", "recall_at_5", "recall_at_10", "any_hit_at_10")}}
    )
    print_table(rows, ["category", "questions", "recall_at_5", "recall_at_10", "any_hit_at_10"])
    print(f"{chosen['memories']} memories per variant, ingested in {chosen['ingest_seconds']:.0f} s")
    payload = {**chosen, "embedder": args.embedder, "data": str(args.data), "variants": variants}
    print(f"wrote {write_json(payload, args.out, 'locomo')}")


if __name__ == "__main__":
    main()
