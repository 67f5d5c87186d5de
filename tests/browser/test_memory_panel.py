"""The memory UI as a user meets it, at desktop and phone sizes (issue 11), part two: compact
notices with Undo, the recalled step, history styling and attribution, recently deleted, meaning
search, categories, adding by hand, small fixes, and another user's thread. Part one is
test_memory_ui.py; both use the same running app (`ui_app`).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from bench.harness.stub_openai import StubOpenAI
from tests.browser.conftest import RunningApp
from tests.browser.ui import (
    DESKTOP,
    PHONE,
    SIZES,
    close_memories,
    expect_notice,
    is_phone,
    login,
    open_memories,
    reload,
    send,
    send_and_settle,
    shot,
    user_name,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# -- 5, 6, 7, 8: notices, the recalled step, history, undo and recently deleted ---------------------


@pytest.mark.parametrize("viewport", SIZES)
def test_notices_recalled_step_history_and_undo(
    browser: Any, ui_app: RunningApp, ui_stub: StubOpenAI, viewport: dict[str, int]
) -> None:
    page = login(browser, ui_app, user_name(viewport, "sam"), viewport)
    send_and_settle(page, "I live in Lisbon.")
    if not is_phone(page):  # Chainlit moves a wide page to the new thread after its first message
        expect(page).to_have_url(re.compile("/thread/"))
    expect(page.locator('[data-step-type="retrieval"]').last).to_contain_text("No memories recalled")
    expect_notice(page, "Added “Lives in Lisbon”")
    # The notice is part of the reply, not a chat message of its own.
    notice = page.get_by_test_id("memory-notice").last
    expect(page.locator('[data-step-type="assistant_message"]').filter(has=notice)).to_have_count(1)
    expect(page.locator('[data-step-type="assistant_message"]')).to_have_count(1)

    send_and_settle(page, "I moved to Porto.")  # the turn's panel refresh is in before the link is used
    expect_notice(page, "Updated Lives in Lisbon → “Moved to Porto")
    shot(page, "7-notice")
    step = page.locator('[data-step-type="retrieval"]').last
    step.get_by_text("Recalled 1 memory").click()
    expect(step).to_contain_text(re.compile(r"Lives in Lisbon · relevance 0\.\d\d"))
    step.get_by_role("link", name="Lives in Lisbon").click()  # opens the panel on that memory
    focused = page.locator('[data-testid="memory-item"][data-focused="true"]')
    expect(focused).to_have_count(1)
    shot(page, "8-recalled-link-opens-panel")

    # History: who made each change, the old text struck through, Restore styled as a link.
    focused.get_by_test_id("toggle-history").click()
    entries = focused.get_by_test_id("history-entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("Added from chat")
    expect(entries.nth(1)).to_contain_text("Changed from chat")
    old = focused.get_by_test_id("history-old")
    assert "line-through" in old.evaluate("e => getComputedStyle(e).textDecorationLine")
    restore = focused.get_by_test_id("restore-version")
    assert restore.evaluate("e => getComputedStyle(e).textDecorationLine") == "underline"
    timeline = focused.get_by_test_id("memory-history")
    assert timeline.evaluate("e => getComputedStyle(e).paddingLeft") == "12px"
    assert timeline.evaluate("e => getComputedStyle(e).borderLeftWidth") == "2px"
    shot(page, "9-history")
    restore.click()
    expect(page.get_by_test_id("memory-text")).to_have_text(["Lives in Lisbon"])
    page.locator('[data-testid="memory-item"]').first.get_by_test_id("toggle-history").click()
    expect(page.get_by_test_id("history-entry").last).to_contain_text("Changed restored")
    if is_phone(page):
        close_memories(page)

    # Undo on a notice, then "Recently deleted" restores a memory with its history.
    send(page, "I have a hamster named Bob.")
    expect_notice(page, "Added “Has a hamster named Bob”")
    page.get_by_test_id("notice-undo").last.click()
    expect(page.get_by_test_id("notice-status").last).to_have_text("Undone: 1 change.")
    ui_stub.requests.clear()
    send(page, "Do I have a pet?")
    expect(page.get_by_text("Stub reply to: Do I have a pet?")).to_be_visible()
    chat = next(r for r in ui_stub.chat_requests() if r.body.get("stream"))
    assert "hamster" not in chat.body["messages"][-2]["content"], "an undone memory is not recalled"
    assert "Memory updated" not in str(chat.body["messages"]), "notices are never model history"
    open_memories(page)
    expect(page.get_by_test_id("memory-text")).to_have_text(["Lives in Lisbon"])
    page.get_by_test_id("toggle-deleted").click()
    deleted = page.get_by_test_id("deleted-item")
    expect(deleted).to_have_count(1)
    expect(deleted).to_contain_text("Has a hamster named Bob")
    shot(page, "10-recently-deleted")
    deleted.get_by_test_id("undelete").click()
    expect(page.get_by_test_id("memory-status")).to_have_text("Memory restored with its history.")
    restored = page.locator('[data-testid="memory-item"]', has_text="Has a hamster named Bob")
    restored.get_by_test_id("toggle-history").click()
    expect(restored.get_by_test_id("history-entry")).to_have_count(3)  # added, deleted by Undo, restored
    expect(restored.get_by_test_id("history-entry").nth(1)).to_contain_text("Deleted undone")
    expect(restored.get_by_test_id("history-entry").nth(2)).to_contain_text("Added restored")

    # A resumed thread keeps its notices, and the model still never sees them. (Desktop only: on a
    # phone Chainlit stays on / after a thread's first message, so a reload starts a new chat.)
    if is_phone(page):
        page.context.close()
        return
    reload(page)
    expect(page.get_by_test_id("memory-notice").first).to_be_visible()
    ui_stub.requests.clear()
    send(page, "Thanks!")
    expect(page.get_by_text("Stub reply to: Thanks!")).to_be_visible()
    chat = next(r for r in ui_stub.chat_requests() if r.body.get("stream"))
    assert [m["role"] for m in chat.body["messages"]].count("assistant") >= 3
    assert "Memory updated" not in str(chat.body["messages"])
    page.context.close()


# -- 9, 10: search by words and meaning, categories, adding by hand, small fixes --------------------


@pytest.mark.parametrize("viewport", SIZES)
def test_search_categories_add_and_small_fixes(browser: Any, ui_app: RunningApp, viewport: dict[str, int]) -> None:
    page = login(browser, ui_app, user_name(viewport, "tara"), viewport)
    send(page, "I am vegan. I work as a nurse. My sister Ana lives in Madrid. I play the piano. I have two cats.")
    expect_notice(page, "Added")
    open_memories(page)
    expect(page.get_by_test_id("memory-item")).to_have_count(5)
    expect(page.get_by_test_id("memory-count")).to_have_text(re.compile("^5 memories for tara"))

    search = page.get_by_test_id("memory-filter")
    search.fill("diet")  # no memory says "diet": found by meaning
    expect(page.get_by_test_id("memory-text").first).to_have_text("Is vegan")
    expect(page.get_by_test_id("meaning-match").first).to_be_visible()
    expect(page.get_by_test_id("memory-count")).to_have_text(re.compile(r"^\d of 5 memories"))
    shot(page, "11-meaning-search")
    search.fill("nurse")  # a word match
    expect(page.get_by_test_id("memory-text").first).to_have_text("Works as a nurse")
    search.fill("")

    chips = page.get_by_test_id("category-chip")
    expect(chips.filter(has_text="Family & friends")).to_have_count(1)
    chips.filter(has_text="Family & friends").click()
    expect(page.get_by_test_id("memory-text")).to_have_text(["Sister Ana lives in Madrid"])
    expect(page.get_by_test_id("memory-count")).to_have_text(re.compile("^1 of 5 memories"))
    chips.filter(has_text="Family & friends").click()

    page.get_by_test_id("add-memory").click()
    page.get_by_test_id("new-memory-text").fill("Prefers short answers")
    page.get_by_test_id("save-new-memory").click()
    expect(page.get_by_test_id("memory-status")).to_have_text("Memory added.")
    expect(page.get_by_test_id("memory-item")).to_have_count(6)
    expect(page.locator('[data-testid="memory-item"][data-focused="true"]')).to_contain_text("Prefers short answers")

    # The action buttons stay on one line, and Edit scrolls its box into view.
    last = page.get_by_test_id("memory-item").last
    tops = [b.bounding_box()["y"] for b in last.locator(".mc-actions button").all()]  # type: ignore[index]
    assert len(tops) == 3 and max(tops) - min(tops) < 2, f"the buttons wrap: {tops}"
    last.get_by_test_id("edit-memory").click()
    expect(page.get_by_test_id("edit-text")).to_be_in_viewport(ratio=1)
    box = page.get_by_test_id("edit-text").bounding_box()
    height = (page.viewport_size or DESKTOP)["height"]
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, f"edit box off screen: {box}"
    shot(page, "12-edit-in-view")
    page.get_by_role("button", name="Cancel").click()

    # Forget everything says how many go, and offers an export first.
    page.get_by_test_id("forget-all").click()
    expect(page.get_by_test_id("forget-dialog")).to_contain_text("Forget all 6 memories?")
    expect(page.get_by_test_id("export-before-forget")).to_be_visible()
    shot(page, "13-forget-dialog")
    page.get_by_role("button", name="Cancel").click()
    if is_phone(page):
        close_memories(page)

    # The new-chat dialog no longer says the history is cleared.
    page.locator("#new-chat-button").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Your other chats and your memories are kept.")
    expect(dialog).not_to_contain_text("clear your current chat history")
    page.keyboard.press("Escape")
    page.context.close()


def test_another_users_thread_says_not_found_with_a_way_back(browser: Any, ui_app: RunningApp) -> None:
    owner = login(browser, ui_app, "uma")
    send(owner, "I like chess.")
    owner.wait_for_url("**/thread/**")
    thread_url = owner.url
    for viewport in (DESKTOP, PHONE):
        other = login(browser, ui_app, user_name(viewport, "victor"), viewport)
        other.goto(thread_url)
        expect(other.locator("#thread-not-found")).to_contain_text("Chat not found")
        expect(other.get_by_text("I like chess.")).to_have_count(0)
        shot(other, "14-thread-not-found")
        other.get_by_test_id("back-to-chats").click()
        expect(other.locator("#chat-input")).to_be_visible()
        expect(other.locator("#thread-not-found")).to_have_count(0)
        other.context.close()
    owner.context.close()
