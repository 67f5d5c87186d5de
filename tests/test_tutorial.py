"""The tutorial, step by step, with the shapes and events it prints."""

from __future__ import annotations

import ast
import hashlib
import os
import re
from pathlib import Path

import pytest

from bench.harness.stub_openai import StubOpenAI
from memory import Memory
from tests.processes import run_python
from tests.shapes import assert_add_result, assert_history, assert_item

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL_CONFIG = {
    "vector_store": {
        "provider": "milvus",
        "config": {
            "collection_name": "quickstart_mem0_with_milvus",
            "embedding_model_dims": "1536",
            "url": "./milvus.db",
        },
    },
    "version": "v1.1",
}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_tutorial_on_the_model_stub(stub: StubOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    m = Memory.from_config(TUTORIAL_CONFIG)
    try:
        stub.script(
            {"operations": [{"event": "ADD", "id": None, "text": "Working on improving tennis skills"}]},
            {"operations": [{"event": "ADD", "id": None, "text": "Has a linear algebra midterm exam on November 20"}]},
        )
        res = m.add(
            messages="I am working on improving my tennis skills.", user_id="alice", metadata={"category": "hobbies"}
        )
        assert_add_result(res, ["ADD"])
        assert res["results"][0]["memory"] == "Working on improving tennis skills"
        assert (tmp_path / "milvus.db").exists()

        memory_id = res["results"][0]["id"]
        assert m.update(memory_id=memory_id, data="Likes to play tennis on weekends") == {
            "message": "Memory updated successfully!"
        }

        everything = m.get_all(user_id="alice")
        assert list(everything) == ["results"]
        [item] = everything["results"]
        assert_item(item)
        assert item["memory"] == "Likes to play tennis on weekends"
        assert item["hash"] == md5("Likes to play tennis on weekends")
        assert item["metadata"] == {"category": "hobbies"}  # Mem0 drops it on update; we keep it
        assert item["updated_at"] is not None and item["user_id"] == "alice"

        history = m.history(memory_id=memory_id)
        assert_history(history, ["ADD", "UPDATE"])
        assert (history[0]["old_memory"], history[0]["new_memory"], history[0]["updated_at"]) == (
            None,
            "Working on improving tennis skills",
            None,
        )
        assert (history[1]["old_memory"], history[1]["new_memory"]) == (
            "Working on improving tennis skills",
            "Likes to play tennis on weekends",
        )
        assert history[1]["created_at"] == history[0]["created_at"] and history[1]["updated_at"] == item["updated_at"]

        new_mem = m.add(
            "I have a linear algebra midterm exam on November 20", user_id="alice", metadata={"category": "task"}
        )
        assert_add_result(new_mem, ["ADD"])
        both = m.get_all(user_id="alice")["results"]
        assert [i["memory"] for i in both] == [
            "Likes to play tennis on weekends",
            "Has a linear algebra midterm exam on November 20",
        ]
        assert both[1]["hash"] == "575182f46965111ca0a8279c44920ea2"  # the tutorial's own value
        assert both[1]["updated_at"] is None and both[1]["metadata"] == {"category": "task"}

        found = m.search(query="What are Alice's hobbies", user_id="alice")
        assert list(found) == ["results"] and len(found["results"]) == 2
        for hit in found["results"]:
            assert_item(hit, search=True)
        scores = [hit["score"] for hit in found["results"]]
        assert scores == sorted(scores), "L2: smaller is closer, best first"

        assert m.delete(memory_id=memory_id) == {"message": "Memory deleted successfully!"}
        remaining = m.get_all("alice")["results"]
        assert [i["memory"] for i in remaining] == ["Has a linear algebra midterm exam on November 20"]
        assert_history(m.history(memory_id=memory_id), ["ADD", "UPDATE", "DELETE"])

        chat_calls = stub.chat_requests()
        assert len(chat_calls) == 2, "one LLM call per add"
    finally:
        m.close()


def _printed_values(output: str) -> list[object]:
    """Each pprint block of the script's output as a Python value."""
    blocks, current = [], ""
    for line in output.splitlines():
        current += line + "\n"
        try:
            blocks.append(ast.literal_eval(current))
            current = ""
        except (SyntaxError, ValueError):
            continue
    assert current == "", f"unparsed output: {current!r}"
    return blocks


@pytest.mark.slow
def test_tutorial_script_runs_offline_in_a_new_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MEMORY_", "MILVUS_"))}
    done = run_python([str(ROOT / "tests" / "tutorial_script.py")], env=env, cwd=tmp_path, timeout=300)
    res, updated, all1, history, all2, found, deleted, all3 = _printed_values(done.stdout)
    assert_add_result(res, ["ADD"])
    assert res["results"][0]["memory"] == "Working on improving tennis skills"
    assert updated == {"message": "Memory updated successfully!"}
    assert [i["memory"] for i in all1["results"]] == ["Likes to play tennis on weekends"]
    assert_history(history, ["ADD", "UPDATE"])
    assert [i["memory"] for i in all2["results"]] == [
        "Likes to play tennis on weekends",
        "Has a linear algebra midterm exam on November 20",
    ]
    for item in all2["results"]:
        assert_item(item)
    assert len(found["results"]) == 2
    for hit in found["results"]:
        assert_item(hit, search=True)
    assert deleted == {"message": "Memory deleted successfully!"}
    assert [i["memory"] for i in all3["results"]] == ["Has a linear algebra midterm exam on November 20"]
    assert re.search(r"embedding_model_dims is 1536 but .* gives 384 dimensions: using 384", done.stderr)
    assert (tmp_path / "milvus.db").exists()
