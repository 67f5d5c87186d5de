"""The memory UI's server side on its own: who made each change, recently deleted and restore,
undo, manual add, import, meaning search, categories, preferences, the recalled step's text,
the page without outside addresses, and element storage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from chatapp.assets import EXTERNAL_URL, local_only_html
from chatapp.categories import CATEGORIES, categorize
from chatapp.database import open_app_database
from chatapp.element_storage import LocalStorageClient
from chatapp.preferences import Preferences, UserPreferences
from chatapp.settings import AppSettings
from chatapp.sidebar import NOT_YOURS, MemoryActions, sidebar_props
from chatapp.turn import recalled_step_text
from memory import InvalidInputError, Memory, MemoryNotFoundError
from tests.reliability.checks import assert_consistent
from tests.shapes import assert_history

ROOT = Path(__file__).resolve().parent.parent


def test_history_says_who_made_each_change_and_keeps_the_tutorial_shape(make_memory: Callable[..., Memory]) -> None:
    m = make_memory({"extractor": "heuristic"})
    memory_id = m.add("I live in Lisbon.", user_id="alice", source="chat")["results"][0]["id"]
    m.update(memory_id, "Lives in Porto", user_id="alice", source="panel")
    m.update(memory_id, "Lives in Lisbon", user_id="alice")
    assert_history(m.history(memory_id), ["ADD", "UPDATE", "UPDATE"])  # the contract's keys, unchanged
    sources = [h["source"] for h in m.history(memory_id, user_id="alice", with_source=True)]  # type: ignore[typeddict-item]
    assert sources == ["chat", "panel", "api"]


def test_a_deleted_memory_is_listed_and_restored_with_its_id_and_history(
    make_memory: Callable[..., Memory], tmp_path: Path
) -> None:
    m = make_memory()
    kept = m.add("Likes tea", user_id="alice", infer=False)["results"][0]["id"]
    gone = m.add("Lives in Lisbon", user_id="alice", infer=False)["results"][0]["id"]
    m.update(gone, "Lives in Porto", user_id="alice")
    m.delete(gone, user_id="alice", source="panel")
    deleted = m.deleted(user_id="alice")
    assert [(d["id"], d["memory"], d["source"]) for d in deleted] == [(gone, "Lives in Porto", "panel")]
    assert m.deleted(user_id="bob") == []
    with pytest.raises(MemoryNotFoundError):
        m.restore(gone, user_id="bob")  # not bob's
    with pytest.raises(InvalidInputError, match="is not deleted"):
        m.restore(kept, user_id="alice")

    m.restore(gone, user_id="alice")
    assert m.get(gone, user_id="alice")["memory"] == "Lives in Porto"  # type: ignore[index]
    assert [h["event"] for h in m.history(gone)] == ["ADD", "UPDATE", "DELETE", "ADD"]
    assert m.deleted(user_id="alice") == []
    assert m.search("Where does she live?", user_id="alice", limit=1)["results"][0]["id"] == gone
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def test_forget_everything_can_be_undone_one_by_one_from_recently_deleted(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    m.add([{"role": "user", "content": t} for t in ("Likes tea", "Has a cat", "Plays chess")], user_id="u", infer=False)
    actions = MemoryActions(m)
    assert actions.handle("u", {"op": "forget_all", "confirm": True})["ok"]
    deleted = sidebar_props(m, "u", "mode")["deleted"]
    assert sorted(d["memory"] for d in deleted) == ["Has a cat", "Likes tea", "Plays chess"]
    for item in deleted:
        assert actions.handle("u", {"op": "undelete", "id": item["id"]})["ok"]
    assert sorted(i["memory"] for i in m.get_all(user_id="u")["results"]) == ["Has a cat", "Likes tea", "Plays chess"]
    assert actions.handle("someone-else", {"op": "undelete", "id": deleted[0]["id"]}) == {
        "ok": False,
        "message": NOT_YOURS,
    }


def test_undo_reverses_a_turn_of_changes_once(make_memory: Callable[..., Memory], tmp_path: Path) -> None:
    m = make_memory({"extractor": "heuristic"})
    m.add("I live in Lisbon. I like jazz.", user_id="alice", source="chat")
    changes = m.add("I moved to Porto. I have a cat. Forget that I like jazz.", user_id="alice", source="chat")
    events = sorted(c["event"] for c in changes["results"])
    assert events == ["ADD", "DELETE", "UPDATE"], changes
    actions = MemoryActions(m)
    result = actions.undo("alice", changes["results"])
    assert result == {"ok": True, "message": "Undone: 3 changes."}
    assert sorted(i["memory"] for i in m.get_all(user_id="alice")["results"]) == ["Likes jazz", "Lives in Lisbon"]
    sources = {
        h["source"]  # type: ignore[typeddict-item]
        for i in m.get_all(user_id="alice")["results"]
        for h in m.history(i["id"], with_source=True)
    }
    assert "undo" in sources
    again = actions.undo("alice", changes["results"])
    assert again["ok"] is False  # the memories have moved on; nothing is reversed twice
    assert sorted(i["memory"] for i in m.get_all(user_id="alice")["results"]) == ["Likes jazz", "Lives in Lisbon"]
    assert actions.undo("bob", changes["results"])["ok"] is False  # another user's ids change nothing
    assert actions.undo("alice", "not a list") == {"ok": False, "message": "Nothing to undo."}
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def test_add_by_hand_import_and_meaning_search(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    actions = MemoryActions(m)
    assert actions.handle("u", {"op": "add", "text": "  "}) == {
        "ok": False,
        "message": "Type the memory to add; nothing was saved.",
    }
    added = actions.handle("u", {"op": "add", "text": "Prefers short answers"})
    assert added["ok"] and m.get(added["focus"], user_id="u")["memory"] == "Prefers short answers"  # type: ignore[index]
    assert m.history(added["focus"], with_source=True)[0]["source"] == "panel"  # type: ignore[typeddict-item]

    export = json.loads(actions.handle("u", {"op": "export"})["json"])
    export["memories"].append({"memory": "Follows a vegan diet"})
    imported = actions.handle("other", {"op": "import", "json": json.dumps(export)})
    assert imported == {"ok": True, "message": "Imported 2 memories."}
    again = actions.handle("other", {"op": "import", "json": json.dumps(["Follows a vegan diet", "Has a dog"])})
    assert again == {"ok": True, "message": "Imported 1 memories; 1 already held or empty."}
    texts = {i["memory"]: i["id"] for i in m.get_all(user_id="other")["results"]}
    assert set(texts) == {"Prefers short answers", "Follows a vegan diet", "Has a dog"}
    assert m.history(texts["Has a dog"], with_source=True)[0]["source"] == "import"  # type: ignore[typeddict-item]
    for bad in ("{not json", json.dumps({"memories": 3})):
        assert actions.handle("other", {"op": "import", "json": bad})["ok"] is False

    hits = actions.handle("other", {"op": "search", "query": "Follows a vegan diet"})["hits"]
    assert hits and hits[0]["id"] == texts["Follows a vegan diet"]
    assert all(h["id"] in texts.values() for h in hits)
    assert actions.handle("other", {"op": "search", "query": " "}) == {"ok": True, "hits": []}


def test_panel_props_carry_categories_sources_and_deleted(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    ids = [
        r["id"]
        for r in m.add(
            [{"role": "user", "content": t} for t in ("Follows a vegan diet", "Has two cats", "Email is a@b.c")],
            user_id="u",
            infer=False,
            source="chat",
        )["results"]
    ]
    m.delete(ids[1], user_id="u")
    props = sidebar_props(m, "u", "mode")
    assert {p["memory"]: p["category"] for p in props["memories"]} == {
        "Follows a vegan diet": "Food & drink",
        "Email is a@b.c": "About me",
    }
    assert props["categories"] == ["About me", "Food & drink"]  # in CATEGORIES order, only those in use
    assert props["memories"][0]["history"][0]["source_label"] == "from chat"
    assert [d["memory"] for d in props["deleted"]] == ["Has two cats"]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Lives in Lisbon", "Places & travel"),
        ("Is vegan", "Food & drink"),
        ("Sister Aiko lives in Nara", "Family & friends"),
        ("Works at Globex as an engineer", "Work & study"),
        ("Allergic to peanuts", "Health"),
        ("Loves playing tennis on weekends", "Hobbies"),
        ("Name is Maria", "About me"),
        ("京都に住んでいます", "Places & travel"),
        ("コーヒーが好きです", "Food & drink"),
        ("Owns a red bicycle", "Hobbies"),
        ("Is left-handed", "Other"),
    ],
)
def test_categories_are_assigned_offline(text: str, category: str) -> None:
    assert categorize(text) == category
    assert category in CATEGORIES


def test_a_metadata_category_wins() -> None:
    assert categorize("Lives in Lisbon", {"category": "travel plans"}) == "travel plans"
    assert categorize("Lives in Lisbon", {"category": 3}) == "Places & travel"


def test_preferences_are_kept_per_user_across_restarts(tmp_path: Path) -> None:
    path = str(tmp_path / "chainlit.db")
    database = open_app_database(path)
    first = Preferences(database)
    assert first.get("alice") == UserPreferences(memory_enabled=True, panel_open=True)
    first.set("alice", memory_enabled=False)
    first.set("bob", panel_open=False)
    database.close()
    again = Preferences(open_app_database(path))
    assert again.get("alice") == UserPreferences(memory_enabled=False, panel_open=True)
    assert again.get("bob") == UserPreferences(memory_enabled=True, panel_open=False)
    with pytest.raises(TypeError):
        again.set("alice", unknown=True)


def test_recalled_step_says_what_happened_with_relevance_and_links() -> None:
    title, body = recalled_step_text([], "COSINE")
    assert title == "No memories recalled"
    hits = [{"id": "a1", "memory": "Likes [C++] *a lot*", "score": 0.8234}, {"id": "b2", "memory": "x", "score": 0.5}]
    title, body = recalled_step_text(hits, "COSINE")
    assert title == "Recalled 2 memories"
    assert body.splitlines() == [
        r"- [Likes \[C\+\+\] \*a lot\*](#memory-a1) · relevance 0.82",
        "- [x](#memory-b2) · relevance 0.50",
    ]
    assert recalled_step_text(hits[:1], "L2")[0] == "Recalled 1 memory"
    assert "relevance 0.59" in recalled_step_text(hits[:1], "L2")[1]  # squared distance 0.82 of unit vectors


def test_the_page_names_no_outside_address() -> None:
    from chainlit import server

    original = getattr(server.get_html_template, "__wrapped__", server.get_html_template)
    page = original("")
    assert EXTERNAL_URL.search(page), "Chainlit's page names outside addresses: this rewrite is still needed"
    rewritten = local_only_html(page, {"authMode": "open"})
    assert not EXTERNAL_URL.search(rewritten)
    for outside in ("fonts.googleapis.com", "fonts.gstatic.com", "cdn.jsdelivr.net", "chainlit-cloud", "github.com"):
        assert outside not in rewritten
    assert '<link rel="stylesheet" href="/public/fonts/fonts.css" />' in rewritten
    assert 'window.memoryChat = {"authMode": "open"}' in rewritten
    fonts_css = (ROOT / "public" / "fonts" / "fonts.css").read_text(encoding="utf-8")
    for name in __import__("re").findall(r"url\(\./([^)]+)\)", fonts_css):
        assert (ROOT / "public" / "fonts" / name).is_file(), name
    assert "Noto Sans JP" in fonts_css and "Inter" in fonts_css


def test_element_storage_keeps_files_under_its_folder(tmp_path: Path) -> None:
    storage = LocalStorageClient(tmp_path / "elements")
    uploaded = asyncio.run(storage.upload_file("user-1/element-1/MemoryNotice", '{"a": 1}', "application/json"))
    assert uploaded == {
        "object_key": "user-1/element-1/MemoryNotice",
        "url": "/app-files/user-1/element-1/MemoryNotice",
    }
    assert storage.path_for("user-1/element-1/MemoryNotice").read_text() == '{"a": 1}'
    for unsafe in ("../x", "user-1/../../etc/passwd", "/etc/passwd", "a//b"):
        with pytest.raises(ValueError, match="unsafe object key"):
            storage.path_for(unsafe)
    assert asyncio.run(storage.delete_file("user-1/element-1/MemoryNotice")) is True
    assert asyncio.run(storage.delete_file("user-1/element-1/MemoryNotice")) is False


def test_the_start_banner_reads_plainly() -> None:
    from chatapp.launch import banner

    text = banner(AppSettings.from_env({}), {})
    assert "http://127.0.0.1:8000" in text and "the offline models, as no API key is set" in text
    assert "(" not in text, text  # it used to nest parentheses
    assert "OpenAI-compatible models" in banner(AppSettings.from_env({}), {"OPENAI_API_KEY": "sk-x"})


def _queries_for_panel(m: Memory, user: str) -> tuple[int, int, dict]:
    """SQL statements and Milvus calls that one panel refresh (and one export) makes."""
    statements: list[str] = []
    engine = m._history.database.engine
    listen = lambda *args: statements.append(args[2])  # noqa: E731 (before_cursor_execute's statement)
    sa.event.listen(engine, "before_cursor_execute", listen)
    milvus_before = sum(m._store.call_counts.values())
    try:
        props = sidebar_props(m, user, "mode")
        MemoryActions(m).handle(user, {"op": "export"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    queries = [s for s in statements if not s.startswith("BEGIN")]
    return len(queries), sum(m._store.call_counts.values()) - milvus_before, props


def test_a_panel_refresh_makes_the_same_queries_for_3_memories_as_for_30(make_memory: Callable[..., Memory]) -> None:
    """The panel used to read each memory's history apart: two queries per memory after every turn
    (about 1,000 with the panel open), and up to 16,384 for an export."""
    m = make_memory()
    for user, count in (("few", 3), ("many", 30)):
        added = m.add([{"role": "user", "content": f"Collects stamps from country {n}"} for n in range(count)],
                      user_id=user, infer=False)["results"]  # fmt: skip
        for item in added:
            m.update(item["id"], item["memory"] + " and coins", user_id=user)
    few_sql, few_milvus, few = _queries_for_panel(m, "few")
    many_sql, many_milvus, many = _queries_for_panel(m, "many")
    assert (few_sql, few_milvus) == (many_sql, many_milvus)
    assert few_sql == 3, "the panel's histories and deleted memories, the export's histories"
    assert len(many["memories"]) == 30 and all(len(item["history"]) == 2 for item in many["memories"])
    assert [h["source_label"] for h in few["memories"][0]["history"]] == ["by the library", "by the library"]
