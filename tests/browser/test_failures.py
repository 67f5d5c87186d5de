"""What a user sees when something fails: the model, extraction, the Milvus file, a wrong password."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bench.harness.stub_openai import Fault, StubOpenAI
from chatapp.auth import Users
from chatapp.database import open_app_database
from tests.browser.conftest import ARTIFACTS, RunningApp, start_app, stop_app
from tests.browser.ui import TIMEOUT, expect_notice, login, send
from tests.processes import milvus_file_held

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_model_and_extraction_failures_are_shown_and_the_chat_goes_on(
    browser: Any, running_app: RunningApp, app_stub: StubOpenAI
) -> None:
    page = login(browser, running_app, "erin")
    app_stub.script_stream(Fault(500), Fault(500), Fault(500))  # the SDK tries three times
    send(page, "I like opera.")
    expect(page.get_by_text("did not answer (InternalServerError")).to_be_visible()
    # The turn's memory does not depend on its reply: extraction ran from the message itself.
    expect_notice(page, "Added “Likes opera”")
    expect(page.get_by_test_id("memory-text")).to_have_text(["Likes opera"])

    app_stub.embedding_fault_when = lambda inputs: Fault(503) if any(t.startswith("Likes") for t in inputs) else None
    send(page, "I like ballet.")
    expect(page.get_by_text("Stub reply to: I like ballet.")).to_be_visible()
    expect_notice(page, "Memory was not updated for that turn")
    page.screenshot(path=str(ARTIFACTS / "desktop-failures.png"))
    app_stub.embedding_fault_when = None

    send(page, "I like jazz.")
    expect(page.get_by_test_id("memory-text")).to_have_text(["Likes jazz", "Likes opera"])
    page.context.close()


def test_a_milvus_file_held_by_another_process_stops_start_up_clearly(app_stub: StubOpenAI, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with milvus_file_held(data_dir / "milvus.db"), pytest.raises(RuntimeError) as failure:
        start_app(data_dir, app_stub)
    assert "The app cannot start: the Milvus file" in str(failure.value)
    assert "is open in another process" in str(failure.value)


def test_password_mode_accepts_only_known_users(browser: Any, app_stub: StubOpenAI, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = open_app_database(str(data_dir / "chainlit.db"))
    Users(database).add("frank", "a long secret")
    database.close()
    app = start_app(data_dir, app_stub, {"APP_AUTH_MODE": "password"})
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(app.url)
        page.fill("#email", "frank")
        page.fill("#password", "wrong password")
        page.click("button[type=submit]")
        expect(page.get_by_text("Sign in failed: check your name and password.")).to_be_visible()
        page.fill("#password", "a long secret")
        page.click("button[type=submit]")
        expect(page.get_by_test_id("memory-count")).to_have_text("0 memories for frank")
        context.close()
    finally:
        stop_app(app)
