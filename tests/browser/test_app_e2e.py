"""A user's path through the real app in Chromium: remember, recall, edit, delete, isolation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route, expect

from bench.harness.stub_openai import StubOpenAI
from tests.browser.conftest import ARTIFACTS, RunningApp
from tests.browser.ui import (
    close_memories,
    expect_notice,
    login,
    open_memories,
    send,
    send_and_settle,
    settled_box,
    step_types,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_remember_recall_edit_delete_and_isolation(browser: Any, running_app: RunningApp, app_stub: StubOpenAI) -> None:
    alice = login(browser, running_app, "alice")
    expect(alice.get_by_test_id("memory-count")).to_have_text("0 memories for alice")
    expect(alice.get_by_test_id("memory-mode")).to_contain_text("heuristic extractor")

    send(alice, "I love playing tennis on weekends.")
    expect(alice.get_by_text("Stub reply to: I love playing tennis on weekends.")).to_be_visible()
    expect_notice(alice, "Added “Loves playing tennis on weekends”")
    expect(alice.get_by_test_id("memory-text")).to_have_text(["Loves playing tennis on weekends"])
    alice.screenshot(path=str(ARTIFACTS / "desktop-1-remembered.png"))

    # A new thread recalls it.
    alice.click("#new-chat-button")
    confirm = alice.get_by_role("button", name=re.compile("^Confirm$"))
    if confirm.count():
        confirm.click()
    expect(alice.locator("#starters")).to_be_visible()
    expect(alice.get_by_test_id("memory-count")).to_have_text("1 memory for alice")  # the new session is up
    app_stub.requests.clear()
    send(alice, "Which sport do I play?")
    expect(alice.get_by_text("Stub reply to: Which sport do I play?")).to_be_visible()
    chat = next(r for r in app_stub.chat_requests() if r.body.get("stream"))
    assert '"Loves playing tennis on weekends"' in chat.body["messages"][-2]["content"]
    alice.wait_for_url("**/thread/**")  # the new thread's page, which Chainlit moves to after the first message
    assert step_types(alice)[:3] == ["user_message", "retrieval", "assistant_message"], (
        "the recalled step shows above the reply"
    )
    step = alice.locator('[data-step-type="retrieval"]').last
    step.get_by_text("Recalled 1 memory").click()
    expect(step).to_contain_text(re.compile(r"Loves playing tennis on weekends · relevance -?[01]\.\d\d"))
    expect(alice.get_by_test_id("memory-sidebar")).to_be_visible()
    settled_box(alice, "memory-sidebar")  # it slides back in after the move to the thread's page
    alice.screenshot(path=str(ARTIFACTS / "desktop-2-recalled.png"))

    # Edit it and see the history.
    item = alice.get_by_test_id("memory-item").first
    item.get_by_test_id("edit-memory").click()
    alice.get_by_test_id("edit-text").fill("Plays tennis every Saturday")
    alice.get_by_test_id("save-edit").click()
    expect(alice.get_by_test_id("memory-text")).to_have_text(["Plays tennis every Saturday"])
    expect(alice.get_by_test_id("memory-status")).to_have_text("Memory updated.")
    expect(alice.get_by_test_id("memory-item").first).to_have_attribute("data-focused", "true")
    alice.get_by_test_id("toggle-history").first.click()
    entries = alice.get_by_test_id("history-entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("Added")
    expect(entries.nth(1)).to_contain_text("Changed")
    expect(entries.nth(1)).to_contain_text("Plays tennis every Saturday")
    expect(entries.nth(0)).to_contain_text("from chat")
    expect(entries.nth(1)).to_contain_text("edited in the panel")
    alice.screenshot(path=str(ARTIFACTS / "desktop-3-history.png"))

    # Restore the earlier version, then delete.
    alice.get_by_test_id("restore-version").first.click()
    expect(alice.get_by_test_id("memory-text")).to_have_text(["Loves playing tennis on weekends"])
    alice.get_by_test_id("memory-item").first.get_by_test_id("delete-memory").click()
    alice.get_by_test_id("confirm-delete").click()
    expect(alice.get_by_test_id("memory-empty")).to_be_visible()
    alice.get_by_test_id("toggle-deleted").click()
    expect(alice.get_by_test_id("deleted-item")).to_have_text(re.compile("Loves playing tennis on weekends"))

    # Threads are kept: the first thread can be resumed.
    threads = alice.locator("#thread-history li")
    expect(threads).to_have_count(2)
    threads.last.click()
    expect(alice.get_by_text("Stub reply to: I love playing tennis on weekends.")).to_have_count(1)
    expect(alice.get_by_test_id("memory-count")).to_have_text("0 memories for alice")
    assert step_types(alice)[:3] == ["user_message", "retrieval", "assistant_message"], (
        "a resumed thread keeps its recalled step"
    )

    send(alice, "I live in Lisbon.")
    expect(alice.get_by_test_id("memory-text")).to_have_text(["Lives in Lisbon"])
    alice_memory_id = alice.get_by_test_id("memory-item").first.get_attribute("data-memory-id")

    # Bob sees none of it, and a forged action on Alice's memory id changes nothing.
    bob = login(browser, running_app, "bob")
    expect(bob.get_by_test_id("memory-count")).to_have_text("0 memories for bob")
    expect(bob.get_by_text("Lisbon")).to_have_count(0)
    send(bob, "I like jazz.")
    expect(bob.get_by_test_id("memory-text")).to_have_text(["Likes jazz"])

    def forge(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        body["action"]["payload"] = {"op": "delete", "id": alice_memory_id}
        route.continue_(post_data=json.dumps(body))

    bob.route("**/project/action", forge)
    bob.get_by_test_id("memory-item").first.get_by_test_id("delete-memory").click()
    bob.get_by_test_id("confirm-delete").click()
    expect(bob.get_by_test_id("memory-status")).to_have_text(
        "That memory is not yours or no longer exists; nothing was changed."
    )
    bob.unroute("**/project/action")
    expect(bob.get_by_test_id("memory-text")).to_have_text(["Likes jazz"])
    alice.reload()  # a resumed thread shows the sidebar too
    expect(alice.get_by_test_id("memory-text")).to_have_text(["Lives in Lisbon"])
    bob.context.close()
    alice.context.close()


def test_sidebar_is_readable_on_desktop_and_phone(browser: Any, running_app: RunningApp) -> None:
    for name, viewport in (("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})):
        page = login(browser, running_app, f"carol-{name}", viewport)
        # The user closes the panel (on a phone it is a sheet over the chat) and says hello: no memory
        # changes, and on a desktop the page moves to the new thread; the panel stays closed.
        if name == "desktop":
            close_memories(page)
        send_and_settle(page, "Hello there!")
        expect(page.get_by_text("Stub reply to: Hello there!")).to_be_visible()
        if name == "desktop":
            expect(page).to_have_url(re.compile("/thread/"))
        expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)
        send_and_settle(
            page,
            "I am learning Portuguese. My favorite food is grilled sardines, and I have two cats named Miso and Tofu.",
        )
        expect_notice(page, "Added “Has two cats named Miso and Tofu”")
        expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)  # closed stays closed, on both sizes
        open_memories(page)
        expect(page.get_by_test_id("memory-item")).to_have_count(3)
        box = settled_box(page, "memory-sidebar")
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, (
            f"{name}: the sidebar is cut off: {box}"
        )
        for text in page.get_by_test_id("memory-text").all():
            text_box = text.bounding_box()
            assert (
                text_box is not None
                and text_box["x"] >= 0
                and text_box["x"] + text_box["width"] <= viewport["width"] + 1
            )
        page.get_by_test_id("toggle-history").first.click()
        expect(page.get_by_test_id("history-entry")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / f"{name}-sidebar.png"))
        if name == "desktop":  # filter, export, forget everything
            page.get_by_test_id("memory-filter").fill("cats")
            expect(page.get_by_test_id("memory-text")).to_have_text(["Has two cats named Miso and Tofu"])
            page.get_by_test_id("memory-filter").fill("")
            with page.expect_download() as download:
                page.get_by_test_id("export-memories").click()
            exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
            assert exported["user_id"] == "carol-desktop" and len(exported["memories"]) == 3
            assert all(m["user_id"] == "carol-desktop" and m["history"] for m in exported["memories"])
            page.get_by_test_id("forget-all").click()
            expect(page.get_by_test_id("forget-dialog")).to_contain_text("Forget all 3 memories?")
            with page.expect_download() as before_forgetting:
                page.get_by_test_id("export-before-forget").click()
            assert len(json.loads(Path(before_forgetting.value.path()).read_text(encoding="utf-8"))["memories"]) == 3
            page.get_by_test_id("confirm-forget-all").click()
            expect(page.get_by_test_id("memory-empty")).to_be_visible()
            expect(page.get_by_test_id("memory-status")).to_contain_text("Forgot all 3 memories.")
        if name == "phone":  # closed, it comes back from the header, and from the notice's View link
            close_memories(page)
            page.locator("#memories-button").click()
            expect(page.get_by_test_id("memory-item")).to_have_count(3)
            close_memories(page)
            page.get_by_test_id("notice-view").last.click()
            expect(page.get_by_test_id("memory-item")).to_have_count(3)
            settled_box(page, "memory-sidebar")
            page.screenshot(path=str(ARTIFACTS / "phone-chat.png"))
        page.context.close()


def test_a_stopped_reply_still_updates_memory(browser: Any, running_app: RunningApp, app_stub: StubOpenAI) -> None:
    """Extraction starts when the message arrives: the notice shows while the reply is still streaming,
    and pressing Stop mid-reply keeps the turn's memory."""
    page = login(browser, running_app, "stopper")
    app_stub.token_delay = 0.25
    app_stub.script_stream(" ".join(f"word{i}" for i in range(400)))  # about 100 s of reply
    try:
        send(page, "I play the violin in an orchestra.")
        reply = page.locator('[data-step-type="assistant_message"]').filter(has_text="word3")
        expect(reply).to_be_visible()
        expect_notice(page, "Added “Plays the violin in an orchestra”")
        expect(page.locator("#stop-button")).to_be_visible()  # the reply is still being written
        page.screenshot(path=str(ARTIFACTS / "desktop-notice-during-reply.png"))
        page.locator("#stop-button").click()
        expect(page.locator("#stop-button")).to_have_count(0)
        assert "word399" not in reply.first.inner_text()
    finally:
        app_stub.token_delay = 0.0
    expect(page.get_by_test_id("memory-text")).to_have_text(["Plays the violin in an orchestra"])

    # The next turn works, and recalls the fact.
    app_stub.requests.clear()
    send(page, "What instrument do I play?")
    expect(page.get_by_text("Stub reply to: What instrument do I play?")).to_be_visible()
    chat = next(r for r in app_stub.chat_requests() if r.body.get("stream"))
    assert '"Plays the violin in an orchestra"' in chat.body["messages"][-2]["content"]
    page.context.close()
