"""What a user does in the browser: log in, send a message, wait for something to stop moving."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bench.harness.apprunner import ARTIFACTS, RunningApp

__all__ = [
    "DESKTOP",
    "PHONE",
    "SIZES",
    "TIMEOUT",
    "close_memories",
    "expect_notice",
    "is_phone",
    "login",
    "new_chat",
    "open_memories",
    "panel_preferred",
    "pick_chat",
    "reload",
    "send",
    "send_and_settle",
    "set_memory_switch",
    "settle",
    "settled_box",
    "shot",
    "step_types",
    "user_name",
    "wait_for_session",
]

TIMEOUT = 30_000
expect.set_options(timeout=TIMEOUT)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


def login(browser: Any, app: RunningApp, name: str, viewport: dict[str, int] | None = None) -> Page:
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(app.url)
    page.fill("#email", name)
    page.fill("#password", "any password")
    page.click("button[type=submit]")
    expect(page.locator("#chat-input")).to_be_visible()
    expect(page.locator("#memories-button")).to_be_visible()
    wait_for_session(page)
    if not is_phone(page):  # the panel opens by itself on a wide screen, as the user left it
        expect(page.get_by_test_id("memory-sidebar")).to_be_visible()
    return page


def wait_for_session(page: Page) -> None:
    """Until the chat session has told the page its state and no newer session followed for 0.8 s
    (Chainlit may connect twice at start, the second time when it picks the default chat profile)."""
    page.wait_for_function("() => window.memoryChatStateAt && Date.now() - window.memoryChatStateAt > 800")


def is_phone(page: Page) -> bool:
    return (page.viewport_size or {"width": 1280})["width"] < 768


def open_memories(page: Page) -> None:
    """Open the Memories panel from the header, unless it is open (or coming back: Chainlit closes
    it around a new thread's first message, and the app shows it again within about half a second)."""
    page.wait_for_timeout(700)
    if not page.get_by_test_id("memory-sidebar").count():
        page.locator("#memories-button").click()
    expect(page.get_by_test_id("memory-sidebar")).to_be_visible()


def settle(page: Page) -> None:
    """Until every turn sent from this page (since it loaded) has had its memory update done, or
    was over with none due: the server says "memory-checked" once per turn, after the notice and
    the panel's refresh. So whatever a turn changes has reached the page by then."""
    page.wait_for_function("() => (window.memoryChatChecked || 0) >= (window.memoryChatSent || 0)")


def send_and_settle(page: Page, text: str) -> None:
    """Send, then wait until the turn is settled: what did not happen by then won't."""
    send(page, text)
    settle(page)


def user_name(viewport: dict[str, int], who: str) -> str:
    return f"{who}-{'phone' if viewport['width'] < 768 else 'desktop'}"


def shot(page: Page, name: str) -> None:
    size = "phone" if is_phone(page) else "desktop"
    page.screenshot(path=str(ARTIFACTS / f"ui-{size}-{name}.png"))


def new_chat(page: Page) -> None:
    page.evaluate("() => { window.memoryChatStateAt = 0; }")
    page.locator("#new-chat-button").click()
    confirm = page.get_by_role("button", name=re.compile("^Confirm$"))
    if confirm.count():
        confirm.click()
    expect(page.locator("#starters")).to_be_visible()
    wait_for_session(page)


def pick_chat(page: Page, profile: str) -> None:
    """Choose a chat profile ("Chat" or "Temporary chat") in the header's picker: a new chat."""
    page.evaluate("() => { window.memoryChatStateAt = 0; }")
    page.locator("#chat-profiles").click()
    page.get_by_role("option", name=re.compile(f"^{profile}")).click()
    confirm = page.get_by_role("button", name=re.compile("^Confirm$"))
    if confirm.count():
        confirm.click()
    wait_for_session(page)


def reload(page: Page) -> None:
    page.reload()
    expect(page.locator("#chat-input")).to_be_visible()
    wait_for_session(page)


def panel_preferred(page: Page) -> bool:
    """Whether the session told the page to open the panel by itself (a wide screen then asks for it)."""
    return bool(page.evaluate("() => Boolean(window.memoryChatState && window.memoryChatState.panelPreferred)"))


def set_memory_switch(page: Page, on: bool) -> None:
    page.locator("#chat-settings-open-modal").click()
    switch = page.locator("#memory_enabled")
    if (switch.get_attribute("aria-checked") == "true") != on:
        switch.click()
    page.locator("#confirm").click()
    expect(page.locator("#memory_enabled")).to_have_count(0)


def close_memories(page: Page) -> None:
    """Close the panel with its own close button (the arrow on a desktop, × on a phone's sheet)."""
    if is_phone(page):
        page.get_by_role("dialog").get_by_role("button", name="Close").click()
    else:
        page.locator("#side-view-title button").click()
    expect(page.get_by_test_id("memory-sidebar")).to_have_count(0)


def expect_notice(page: Page, text: str, timeout: float | None = None) -> None:
    """A memory notice under a reply that says `text` (e.g. 'Added “Likes jazz”')."""
    notice = page.get_by_test_id("memory-notice").filter(has_text=text)
    expect(notice.last).to_be_visible(**({"timeout": timeout} if timeout else {}))


def send(page: Page, text: str) -> None:
    page.evaluate("() => { window.memoryChatSent = (window.memoryChatSent || 0) + 1; }")  # see settle()
    page.locator("#chat-input").click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def step_types(page: Page) -> list[str]:
    """The chat's steps in page order: user_message, retrieval, assistant_message, ..."""
    return list(page.evaluate("() => [...document.querySelectorAll('[data-step-type]')].map(e => e.dataset.stepType)"))


def settled_box(page: Page, test_id: str) -> dict[str, float]:
    """The element's box once its opening animation has stopped moving it."""
    previous = None
    for _ in range(50):
        box = page.get_by_test_id(test_id).bounding_box()
        if box is not None and box == previous:
            return box
        previous = box
        page.wait_for_timeout(150)
    raise AssertionError(f"{test_id} kept moving: {previous}")
