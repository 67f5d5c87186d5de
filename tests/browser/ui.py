"""What a user does in the browser: log in, send a message, wait for something to stop moving."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.apprunner import RunningApp

__all__ = ["TIMEOUT", "login", "send", "settled_box", "step_types"]

TIMEOUT = 30_000
expect.set_options(timeout=TIMEOUT)


def login(browser: Any, app: RunningApp, name: str, viewport: dict[str, int] | None = None) -> Page:
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(app.url)
    page.fill("#email", name)
    page.fill("#password", "any password")
    page.click("button[type=submit]")
    expect(page.locator("#chat-input")).to_be_visible()
    expect(page.get_by_test_id("memory-sidebar")).to_be_visible()
    return page


def send(page: Page, text: str) -> None:
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
