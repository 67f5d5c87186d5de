"""Memory behaviour on scripted conversations (bench/scenarios.py), offline extractor.

Three sets: the QA team's dev set in ../shared/data/scenarios/dev.jsonl, and our own sets of other
wordings of the same kinds (tests/data/scenarios_own.jsonl, written before the extractor was
tuned; scenarios_fresh.jsonl, written after), to check that what passes is general. Target: a
pass rate of at least 0.9 on each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scenarios import DEFAULT_DATA, check, load, run

OWN = Path(__file__).resolve().parent / "data" / "scenarios_own.jsonl"
# Written after the extractor was built, to see how it does on sentences it had never met: 21 of
# 25 passed at first; the four failures were fixed in general ways (see the commit that adds it).
FRESH = Path(__file__).resolve().parent / "data" / "scenarios_fresh.jsonl"


def test_check_reports_each_broken_expectation() -> None:
    expect = {"present": ["munich"], "absent": [r"\bberlin\b"], "max_memories": 1}
    assert check(expect, ["Moved to Munich"]) == []
    reasons = check(expect, ["Lives in Berlin", "Likes beer"])
    assert len(reasons) == 3
    assert "munich" in reasons[0] and "Lives in Berlin" in reasons[1] and "at most 1" in reasons[2]


@pytest.mark.parametrize("path", [DEFAULT_DATA, OWN, FRESH], ids=["dev", "own", "fresh"])
def test_offline_extractor_passes_the_scenarios(path: Path) -> None:
    if path == DEFAULT_DATA and not path.exists():
        pytest.skip(f"{path} (the QA team's set, in shared/) is not on this machine")
    scenarios = load(path)
    result = run(scenarios, "heuristic")
    assert result["total"] == len(scenarios) and result["total"] >= 25
    assert set(result) >= {"pass_rate", "passed", "total", "per_category", "failures"}
    assert result["pass_rate"] >= 0.9, result["failures"]
    assert all(rate >= 0.75 for rate in result["per_category"].values()), result["per_category"]


def test_the_llm_extractor_runs_the_scenarios_against_an_openai_compatible_endpoint(stub) -> None:  # type: ignore[no-untyped-def]
    """On the stub this checks the plumbing: one JSON-schema call per turn, the stub's operations applied."""
    stub.json_reply = lambda body: {"operations": [{"event": "ADD", "id": None, "text": "Lives in Lisbon"}]}
    scenario = {
        "id": "s",
        "category": "introduce",
        "today": "2026-12-01",
        "turns": ["I live in Lisbon.", "Hello!"],
        "expect": {"present": ["lisbon"], "absent": [], "max_memories": 1},
    }
    result = run([scenario], "llm")
    calls = stub.chat_requests()
    assert len(calls) == 2 and all(c.body["response_format"]["type"] == "json_schema" for c in calls)
    assert "Today is Tuesday, 2026-12-01" in calls[0].prompt
    assert result["passed"] == 1 and result["failures"] == []
