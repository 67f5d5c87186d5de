"""Does time-aware ranking help? A recency leg fused into the hybrid ranking, on LoCoMo's dev split.

The conversations are ingested as in bench/locomo.py (context text, one user per conversation).
For each question, the hybrid search's fused order over a pool of 40 is fused again, by
reciprocal rank (k = 10), with the same pool ordered newest first, the recency leg weighing
`weight`; weight 0 is the hybrid order itself. Not part of `make bench` (about 6 minutes).

    python -m bench.locomo_recency [--weights 0,0.1,0.25,0.5,1] [--out bench/results/locomo_recency.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.common import print_table, write_json
from bench.locomo import CATEGORIES, DEFAULT_DATA, _config, _ingest, evidence_ids
from memory import Memory
from memory.models import Scope
from memory.store import scope_filter

POOL = 40
RRF_K = 10


def _fused(ranks: list[int], recency_ranks: list[int], weight: float) -> list[int]:
    """Pool positions, best first, by 1/(k + hybrid rank) + weight/(k + recency rank)."""
    return sorted(ranks, key=lambda i: -(1 / (RRF_K + i) + weight / (RRF_K + recency_ranks[i])))


def run(data: Path, weights: list[float]) -> list[dict[str, Any]]:
    conversations = json.loads(data.read_text(encoding="utf-8"))
    found: dict[float, list[tuple[float, float, int]]] = {w: [] for w in weights}
    with tempfile.TemporaryDirectory(prefix="bench-recency-") as tmp:
        memory = Memory(_config(tmp, "local", "hybrid"))
        try:
            _ingest(memory, conversations, "context")
            for conversation in conversations:
                scope = scope_filter(Scope(conversation["sample_id"]))
                for qa in conversation["qa"]:
                    wanted = evidence_ids(qa.get("evidence", []))
                    if qa.get("category") not in CATEGORIES or not wanted:
                        continue
                    vector = memory.embedder.embed([qa["question"]], "query")[0]
                    pool = memory._store.hybrid_search(vector, qa["question"], scope, POOL, RRF_K)
                    newest_first = sorted(range(len(pool)), key=lambda i: pool[i].created_at, reverse=True)
                    recency_ranks = [0] * len(pool)
                    for rank, i in enumerate(newest_first):
                        recency_ranks[i] = rank
                    for weight in weights:
                        order = _fused(list(range(len(pool))), recency_ranks, weight)
                        ids = [(pool[i].metadata or {}).get("dia_id") for i in order]
                        found[weight].append(
                            (
                                len(wanted & set(ids[:5])) / len(wanted),
                                len(wanted & set(ids[:10])) / len(wanted),
                                qa["category"],
                            )
                        )
        finally:
            memory.close()
    rows = []
    for weight, results in found.items():
        temporal = [r for r in results if CATEGORIES[r[2]] == "temporal"]
        rows.append(
            {
                "recency_weight": weight,
                "questions": len(results),
                "recall_at_5": sum(r[0] for r in results) / len(results),
                "recall_at_10": sum(r[1] for r in results) / len(results),
                "temporal_recall_at_10": sum(r[1] for r in temporal) / len(temporal),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weights", default="0,0.1,0.25,0.5,1")
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = run(args.data, [float(w) for w in args.weights.split(",")])
    print_table(rows, list(rows[0]))
    print(f"wrote {write_json(rows, args.out, 'locomo_recency')}")


if __name__ == "__main__":
    main()
