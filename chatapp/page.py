"""What the chat app's handlers need from the page, as a protocol: Chainlit is one implementation
(chatapp/chainlit_page.py), a recording one in the tests is another. The handlers (handlers.py)
never import Chainlit."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Protocol

__all__ = ["Page", "Reply", "Step"]


class Reply(Protocol):
    """The assistant's message of a turn, streamed or written at once."""

    @property
    def id(self) -> str: ...

    content: str

    async def stream_token(self, piece: str) -> None: ...

    async def send(self) -> None: ...


class Step(Protocol):
    """The turn's "Recalled memories" step: drawn at once, written to the thread later."""

    async def draw(self) -> None: ...

    async def persist(self) -> None: ...


class Page(Protocol):
    @property
    def user_id(self) -> str: ...

    @property
    def session(self) -> MutableMapping[str, Any]:
        """This chat session's values (memory switch, top-k, the thread's history, panel state)."""
        ...

    @property
    def chat_profile(self) -> str | None: ...

    def new_reply(self) -> Reply: ...

    async def say(self, text: str) -> None:
        """An assistant message written by the app."""
        ...

    def recalled_step(self, title: str, body: str, started: str) -> Step: ...

    async def notice(self, props: dict[str, Any], for_id: str) -> None:
        """A memory notice (an element of the message `for_id`)."""
        ...

    async def show_panel(self, props: dict[str, Any]) -> None:
        """The Memories panel, shown anew with these props."""
        ...

    async def post_state(self, state: dict[str, Any]) -> None:
        """A message to the page's script (public/memory-ui.js)."""
        ...

    async def send_settings(self, memory_enabled: bool, top_k: int) -> None: ...

    async def delete_thread(self) -> None: ...
