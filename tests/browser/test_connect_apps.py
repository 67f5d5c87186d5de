"""Connect an app (issue 21), as a user meets it at desktop and phone sizes: a token made in the
panel and shown once with a ready snippet, that token used by an MCP client calling itself Claude
Desktop, then the panel showing what that app read and changed, filtering by who changed what, and
revoking the token."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bench.harness.mcp_client import call, mcp_session
from tests.browser.conftest import RunningApp
from tests.browser.ui import (
    SIZES,
    close_memories,
    login,
    open_memories,
    send_and_settle,
    settled_box,
    shot,
    user_name,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP_APP = "from Claude Desktop (token 'laptop')"


def _as_claude_desktop(app: RunningApp, token: str) -> dict[str, Any]:
    """What Claude Desktop would do with the token: search, then remember something (in a thread of
    its own: Playwright's sync API holds this thread's event loop)."""

    async def session() -> dict[str, Any]:
        async with mcp_session(app.url + "/memory/mcp", token, client_name="claude-ai") as mcp:
            found = await call(mcp, "search_memory", query="tennis")
            added = await call(mcp, "add_memories", text="I prefer green tea.")
            return {"found": found, "added": added}

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, session()).result(timeout=60)


def _refused(app: RunningApp, token: str) -> str:
    async def session() -> str:
        try:
            async with mcp_session(app.url + "/memory/mcp", token) as mcp:
                await call(mcp, "list_memories")
        except BaseException as exc:  # the SDK raises the transport's HTTP error in an exception group
            return repr(exc) + "".join(repr(e) for e in getattr(exc, "exceptions", []))
        return "accepted"

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, session()).result(timeout=60)


def _make_token(page: Page, name: str) -> str:
    page.get_by_test_id("connect-app").click()
    page.get_by_test_id("token-name").click()
    page.keyboard.type(name)
    page.get_by_test_id("create-token").click()
    expect(page.get_by_test_id("new-token-value")).to_be_visible()
    return page.get_by_test_id("new-token-value").inner_text().strip()


@pytest.mark.parametrize("viewport", SIZES)
def test_connect_an_app_use_it_see_what_it_did_and_revoke_it(
    browser: Any, ui_app: RunningApp, viewport: dict[str, int]
) -> None:
    page = login(browser, ui_app, user_name(viewport, "connect"), viewport)
    send_and_settle(page, "I love tennis.")
    open_memories(page)
    expect(page.get_by_test_id("token-count")).to_contain_text("For Claude, Cursor, VS Code or a script")
    section = page.get_by_test_id("connect-apps")
    own, held = section.bounding_box(), section.locator("xpath=..").bounding_box()
    assert own and held and held["height"] - own["height"] < 4, "no gap under Connect an app (memory-ui.css)"

    token = _make_token(page, "laptop")
    assert re.fullmatch(r"mcm_[A-Za-z0-9_-]{40,}", token)
    snippet = page.get_by_test_id("app-snippet")
    expect(snippet).to_contain_text(f"Bearer {token}")
    expect(snippet).to_contain_text(ui_app.url + "/memory/mcp")
    expect(snippet).to_contain_text("mcp-remote")
    page.get_by_test_id("app-choice").filter(has_text="Cursor").click()
    expect(snippet).to_contain_text('"url": "' + ui_app.url + "/memory/mcp")
    page.get_by_test_id("app-choice").filter(has_text="A script").click()
    expect(snippet).to_contain_text(f'curl -H "Authorization: Bearer {token}"')
    page.get_by_test_id("app-choice").filter(has_text="Claude Desktop").click()
    expect(page.get_by_test_id("app-token")).to_have_count(1)
    expect(page.get_by_test_id("token-use")).to_contain_text("never used")
    overflow = "() => [...document.querySelectorAll('[data-testid=connect-apps] *')].filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible').length"
    assert page.get_by_test_id("connect-apps").evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "nothing sideways"
    assert page.evaluate(overflow) == 0
    shot(page, "21-connect-app")

    used = _as_claude_desktop(ui_app, token)
    assert [h["memory"] for h in used["found"]["results"]][:1] == ["Loves tennis"]
    assert [r["memory"] for r in used["added"]["results"]] == ["Prefers green tea"]

    page.get_by_test_id("token-done").click()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    close_memories(page)
    open_memories(page)  # drawn anew: what the app did is there
    tennis = page.get_by_test_id("memory-item").filter(has_text="Loves tennis")
    expect(tennis.get_by_test_id("last-read")).to_contain_text("Last read by Claude Desktop (token 'laptop')")
    tea = page.get_by_test_id("memory-item").filter(has_text="Prefers green tea")
    tea.get_by_test_id("toggle-history").click()
    expect(tea.get_by_test_id("history-source")).to_have_text(DESKTOP_APP)

    page.get_by_test_id("source-filter").select_option(DESKTOP_APP)
    expect(page.get_by_test_id("memory-item")).to_have_count(1)
    expect(page.get_by_test_id("memory-count")).to_contain_text("1 of 2 memories")
    shot(page, "21-changed-by-app")
    page.get_by_test_id("source-filter").select_option("from chat")
    expect(page.get_by_test_id("memory-item")).to_have_text(re.compile("Loves tennis"))
    page.get_by_test_id("source-filter").select_option("")

    page.get_by_test_id("connect-app").click()
    expect(page.get_by_test_id("token-use")).to_contain_text("by Claude Desktop")
    page.get_by_test_id("revoke-token").click()
    page.get_by_test_id("confirm-revoke").click()
    expect(page.get_by_test_id("token-status")).to_contain_text("Token 'laptop' revoked")
    expect(page.get_by_test_id("app-token")).to_have_count(0)
    assert "401" in _refused(ui_app, token)


def test_a_new_token_stays_shown_when_a_chat_turn_redraws_the_panel(browser: Any, ui_app: RunningApp) -> None:
    page = login(browser, ui_app, "connect-redraw")
    open_memories(page)
    token = _make_token(page, "desk")
    send_and_settle(page, "I live in Oslo.")  # the turn's memory update redraws the open panel
    expect(page.get_by_test_id("memory-item").filter(has_text="Lives in Oslo")).to_be_visible()
    expect(page.get_by_test_id("new-token-value")).to_have_text(token)
    settled_box(page, "connect-apps")  # the redrawn panel has stopped sliding in
    shot(page, "21-token-after-redraw")
    page.get_by_test_id("token-done").click()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
