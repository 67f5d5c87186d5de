"""The chat's logic without Chainlit: chatapp/handlers.py driven through a `Page` that records what
it is asked to show. The memory library, milvus-lite and the model stub are real; Chainlit itself
is tested in the browser (tests/browser)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.harness.stub_openai import StubOpenAI
from chatapp import handlers
from chatapp.runtime import Services, start
from chatapp.settings import AppSettings


class RecordedReply:
    def __init__(self, page: RecordingPage, number: int) -> None:
        self.id = f"reply-{number}"
        self.content = ""
        self._page = page

    async def stream_token(self, piece: str) -> None:
        self.content += piece

    async def send(self) -> None:
        self._page.shown.append(("reply", self.content))


class RecordedStep:
    def __init__(self, page: RecordingPage, title: str, body: str) -> None:
        self._page, self.title, self.body = page, title, body

    async def draw(self) -> None:
        self._page.shown.append(("step", self.title))

    async def persist(self) -> None:
        self._page.shown.append(("step saved", self.title))


class RecordingPage:
    """A `Page` (chatapp/page.py) that keeps, in order, what the handlers show."""

    def __init__(self, user_id: str, chat_profile: str | None = None) -> None:
        self.user_id = user_id
        self.chat_profile = chat_profile
        self.session: dict[str, Any] = {"history": []}
        self.shown: list[tuple[str, Any]] = []
        self.panels: list[dict[str, Any]] = []
        self._replies = 0

    def new_reply(self) -> RecordedReply:
        self._replies += 1
        return RecordedReply(self, self._replies)

    async def say(self, text: str) -> None:
        self.shown.append(("said", text))

    def recalled_step(self, title: str, body: str, started: str) -> RecordedStep:
        return RecordedStep(self, title, body)

    async def notice(self, props: dict[str, Any], for_id: str) -> None:
        self.shown.append(("notice", (props, for_id)))

    async def show_panel(self, props: dict[str, Any]) -> None:
        self.panels.append(props)

    async def post_state(self, state: dict[str, Any]) -> None:
        self.shown.append(("state", state))

    async def send_settings(self, memory_enabled: bool, top_k: int) -> None:
        self.shown.append(("settings", (memory_enabled, top_k)))

    async def delete_thread(self) -> None:
        self.shown.append(("thread deleted", None))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.shown]


@pytest.fixture
def services(tmp_path: Path, stub: StubOpenAI) -> Iterator[Services]:
    env = {"OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "sk-stub", "MEMORY_EXTRACTOR": "heuristic"}
    settings = AppSettings.from_env({"APP_DATA_DIR": str(tmp_path / "data")})
    app = start(settings, env)
    yield app
    app.close()


def _turn(page: RecordingPage, app: Services, text: str) -> None:
    async def run() -> None:
        await handlers.on_message(page, app, text, question_id="question")
        await app.queue.drain()

    asyncio.run(run())


def test_a_turn_recalls_replies_and_then_shows_what_memory_did(services: Services) -> None:
    page = RecordingPage("alice")
    _turn(page, services, "I live in Lisbon.")
    assert page.kinds() == ["step", "reply", "step saved", "notice", "state"]
    assert page.shown[0] == ("step", "No memories recalled")
    props, for_id = page.shown[3][1]
    assert [c["memory"] for c in props["changes"]] == ["Lives in Lisbon"] and for_id == "reply-1"
    assert page.shown[4][1] == {"memoryChat": "memory-checked", "changes": 1, "failed": False}
    assert page.session["history"][-1]["content"] == "Stub reply to: I live in Lisbon."

    page.shown.clear()
    _turn(page, services, "Where do I live?")
    assert page.shown[0] == ("step", "Recalled 1 memory")
    [state] = [value for kind, value in page.shown if kind == "state"]
    assert state["changes"] == 0, "a question changes nothing, and the page is told so"
    assert "notice" not in page.kinds()


def test_memory_off_and_a_temporary_chat_neither_read_nor_write(services: Services, stub: StubOpenAI) -> None:
    for page in (RecordingPage("bob"), RecordingPage("bob", chat_profile=handlers.TEMPORARY_CHAT)):
        page.session["memory_enabled"] = page.chat_profile is not None  # off, or on but temporary
        stub.reset()
        _turn(page, services, "I have a cat named Tom.")
        assert page.kinds() == ["reply", "state"]
        assert page.shown[-1][1]["memoryChat"] == "memory-checked"
        assert not stub.embedding_requests(), "nothing searched or extracted"
    assert services.memory.get_all(user_id="bob")["results"] == []


def test_empty_and_huge_messages_get_a_clear_answer_and_nothing_else(services: Services) -> None:
    page = RecordingPage("carol")
    _turn(page, services, "   ")
    _turn(page, services, "x" * (services.settings.max_message_chars + 1))
    assert page.kinds() == ["said", "state", "said", "state"]
    assert "empty" in page.shown[0][1] and "Nothing was saved to memory" in page.shown[2][1]
    assert page.shown[3][1] == {"memoryChat": "memory-checked", "changes": 0, "refused": True}


def test_the_panel_opens_on_request_and_its_actions_refresh_it(services: Services) -> None:
    page = RecordingPage("dan")
    _turn(page, services, "I play chess.")

    async def run() -> dict[str, Any]:
        await handlers.window_message(page, services, {"memoryChat": "open-panel", "byUser": True, "wide": True})
        [item] = page.panels[-1]["memories"]
        return await handlers.memory_action(page, services, {"op": "edit", "id": item["id"], "text": "Plays go"})

    result = asyncio.run(run())
    assert result["ok"] and page.session["panel_open"] is True
    assert [m["memory"] for m in page.panels[-1]["memories"]] == ["Plays go"]
    assert page.panels[-1]["notice"] == "Memory updated."
    assert services.preferences.get("dan").panel_open is True, "opened by the user on a wide screen: kept"


def test_a_resumed_thread_gives_the_model_its_messages_without_notices() -> None:
    steps = [
        {"type": "assistant_message", "output": "Hello!", "createdAt": "2"},
        {"type": "user_message", "output": "Hi", "createdAt": "1"},
        {"type": "assistant_message", "name": handlers.MEMORY_AUTHOR, "output": "Memory updated", "createdAt": "3"},
        {"type": "retrieval", "output": "Recalled 1 memory", "createdAt": "4"},
    ]
    assert handlers.history_from_steps(steps) == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
