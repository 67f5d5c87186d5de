"""Memory behaviour on scripted conversations: the checks a person doing QA tries first.

Each scenario (see ../shared/data/scenarios/README.md) runs for a fresh user: one
`Memory.add([{"role": "user", "content": turn}])` per turn, with `today` fixed from the scenario;
then the user's memories (`get_all`) are checked against the scenario's expectations.

    python -m bench.scenarios [--data PATH] [--out PATH] [--extractor heuristic|llm]

`--extractor heuristic` (the default without OPENAI_API_KEY / OPENAI_BASE_URL) runs fully offline.
`--extractor llm` uses the OpenAI-compatible endpoint of the environment (OPENAI_BASE_URL,
OPENAI_API_KEY, MEMORY_LLM_MODEL, and the embedder settings), as the app does.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import print_table, write_json
from memory import Memory, MemoryConfig

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scenarios" / "dev.jsonl"


def load(path: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check(expect: dict[str, Any], memories: list[str]) -> list[str]:
    """The reasons a scenario fails (none: it passes)."""
    reasons = []
    for pattern in expect.get("present", []):
        if not any(re.search(pattern, m, re.I) for m in memories):
            reasons.append(f"no memory matches {pattern!r}")
    for pattern in expect.get("absent", []):
        stale = [m for m in memories if re.search(pattern, m, re.I)]
        if stale:
            reasons.append(f"{stale!r} should be gone ({pattern!r})")
    if "max_memories" in expect and len(memories) > expect["max_memories"]:
        reasons.append(f"{len(memories)} memories, at most {expect['max_memories']} expected")
    if "min_memories" in expect and len(memories) < expect["min_memories"]:
        reasons.append(f"{len(memories)} memories, at least {expect['min_memories']} expected")
    return reasons


def config(folder: str, extractor: str) -> MemoryConfig:
    env = dict(os.environ)
    env["MEMORY_EXTRACTOR"] = extractor
    if extractor == "heuristic" and not (env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL")):
        env.setdefault("MEMORY_EMBEDDER_PROVIDER", "local")
    return MemoryConfig.from_dict(
        {"vector_store": {"provider": "milvus", "config": {"url": str(Path(folder) / "scenarios.db")}}}, env=env
    )


def run(scenarios: list[dict[str, Any]], extractor: str) -> dict[str, Any]:
    today_box = [date.today()]
    rows, failures = [], []
    per_category: dict[str, list[bool]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as folder:
        memory = Memory(config(folder, extractor), today=lambda: today_box[0])
        try:
            for number, scenario in enumerate(scenarios):
                today_box[0] = date.fromisoformat(scenario["today"])
                user = f"scenario-{number}"
                started = time.perf_counter()
                errors = []
                for turn in scenario["turns"]:
                    try:
                        memory.add([{"role": "user", "content": turn}], user_id=user)
                    except Exception as exc:  # a failing turn fails its scenario, not the run
                        errors.append(f"turn {turn!r} raised {type(exc).__name__}: {exc}")
                texts = [m["memory"] for m in memory.get_all(user_id=user)["results"]]
                reasons = errors + check(scenario["expect"], texts)
                passed = not reasons
                per_category[scenario["category"]].append(passed)
                rows.append(
                    {
                        "id": scenario["id"],
                        "category": scenario["category"],
                        "passed": "yes" if passed else "NO",
                        "seconds": time.perf_counter() - started,
                        "memories": " | ".join(texts)[:100],
                    }
                )
                if not passed:
                    failures.append({"id": scenario["id"], "reasons": reasons, "memories": texts})
        finally:
            memory.close()
    passed_count = sum(sum(v) for v in per_category.values())
    return {
        "extractor": extractor,
        "pass_rate": passed_count / len(scenarios) if scenarios else 0.0,
        "passed": passed_count,
        "total": len(scenarios),
        "per_category": {c: sum(v) / len(v) for c, v in sorted(per_category.items())},
        "failures": failures,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", default=None)
    remote = bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"))
    parser.add_argument("--extractor", choices=["heuristic", "llm"], default="llm" if remote else "heuristic")
    args = parser.parse_args()
    result = run(load(args.data), args.extractor)
    print_table(result["rows"], ["id", "category", "passed", "seconds", "memories"])
    print()
    print_table([{"category": c, "pass_rate": r} for c, r in result["per_category"].items()], ["category", "pass_rate"])
    for failure in result["failures"]:
        print(f"\nFAIL {failure['id']}: " + "; ".join(failure["reasons"]))
    print(f"\n{args.extractor}: {result['passed']} of {result['total']} passed ({result['pass_rate']:.2f})")
    name = "scenarios" if args.data == DEFAULT_DATA else f"scenarios-{args.data.stem}"
    print("wrote", write_json(result, args.out, f"{name}-{args.extractor}"))


if __name__ == "__main__":
    main()
