"""Retrieval quality on LoCoMo (dev split): evidence recall of the memory library's search.

Each conversation becomes one user; each dialog turn is stored with `add(infer=False)` as
"[session date] Speaker: text" (plus the caption of a shared photo), with its `dia_id` in the
metadata. Every question of categories 1-4 is then searched in its conversation, and the
retrieved dia_ids are compared with the question's evidence:
recall@k = evidence found in the top k / evidence; any_hit@10 = at least one found in the top 10.

    python -m bench.locomo [--data ../shared/data/locomo/locomo-dev.json] [--embedder local] [--out PATH]
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


def turns(conversation: dict[str, Any]) -> list[tuple[str, str]]:
    """(dia_id, text to store) for every turn, session by session."""
    talk = conversation.get("conversation", conversation)
    sessions = sorted((int(m.group(1)), key) for key in talk if (m := re.fullmatch(r"session_(\d+)", key)))
    found = []
    for number, key in sessions:
        when = talk.get(f"session_{number}_date_time", "")
        for turn in talk[key]:
            text = f"[{when}] {turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                text += f" (shares a photo: {turn['blip_caption']})"
            found.append((turn["dia_id"], text))
    return found


def evidence_ids(raw: list[str]) -> set[str]:
    ids: set[str] = set()
    for item in raw:
        ids.update(re.findall(r"D\d+:\d+", str(item)))
    return ids


def run(data: Path, embedder: str, limit: int) -> dict[str, Any]:
    conversations = json.loads(data.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="bench-locomo-") as tmp:
        config = {
            "vector_store": {"provider": "milvus", "config": {"url": f"{tmp}/milvus.db", "collection_name": "locomo"}},
            "embedder": {"provider": embedder},
            "extractor": "heuristic",
        }
        memory = Memory(MemoryConfig.from_dict(config, env={}))
        try:
            start = time.perf_counter()
            stored = 0
            for conversation in conversations:
                for dia_id, text in turns(conversation):
                    memory.add(text, user_id=conversation["sample_id"], metadata={"dia_id": dia_id}, infer=False)
                    stored += 1
            ingest_s = time.perf_counter() - start
            per_category: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
            latencies = []
            for conversation in conversations:
                for qa in conversation["qa"]:
                    if qa.get("category") not in CATEGORIES:
                        continue
                    wanted = evidence_ids(qa.get("evidence", []))
                    if not wanted:
                        continue
                    t0 = time.perf_counter()
                    hits = memory.search(qa["question"], user_id=conversation["sample_id"], limit=limit)["results"]
                    latencies.append((time.perf_counter() - t0) * 1000)
                    got = [(h["metadata"] or {}).get("dia_id") for h in hits]
                    r5 = len(wanted & set(got[:5])) / len(wanted)
                    r10 = len(wanted & set(got[:10])) / len(wanted)
                    per_category[qa["category"]].append((r5, r10, float(bool(wanted & set(got[:10])))))
        finally:
            memory.close()

    def summary(rows: list[tuple[float, float, float]]) -> dict[str, float]:
        return {
            "questions": len(rows),
            "recall_at_5": sum(r[0] for r in rows) / len(rows),
            "recall_at_10": sum(r[1] for r in rows) / len(rows),
            "any_hit_at_10": sum(r[2] for r in rows) / len(rows),
        }

    everything = [row for rows in per_category.values() for row in rows]
    return {
        **summary(everything),
        "search_p50_ms": percentile(latencies, 50),
        "search_p95_ms": percentile(latencies, 95),
        "per_category": {CATEGORIES[c]: summary(rows) for c, rows in sorted(per_category.items())},
        "embedder": embedder,
        "memories": stored,
        "ingest_seconds": ingest_s,
        "data": str(data),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--embedder", default="local", choices=["local", "openai"])
    parser.add_argument("--out")
    args = parser.parse_args()
    result = run(args.data, args.embedder, limit=10)
    rows = [{"category": name, **values} for name, values in result["per_category"].items()]
    rows.append(
        {
            "category": "overall",
            "questions": result["questions"],
            "recall_at_5": result["recall_at_5"],
            "recall_at_10": result["recall_at_10"],
            "any_hit_at_10": result["any_hit_at_10"],
        }
    )
    print_table(rows, ["category", "questions", "recall_at_5", "recall_at_10", "any_hit_at_10"])
    print(
        f"search p50 {result['search_p50_ms']:.1f} ms, p95 {result['search_p95_ms']:.1f} ms; "
        f"{result['memories']} memories ingested in {result['ingest_seconds']:.0f} s"
    )
    print(f"wrote {write_json(result, args.out, 'locomo')}")


if __name__ == "__main__":
    main()
