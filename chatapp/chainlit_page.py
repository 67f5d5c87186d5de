"""The current Chainlit session as a `Page` (page.py): messages, the recalled step, notices, the
Memories panel, window messages and the chat settings."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, MutableMapping
from typing import Any

import chainlit as cl
from chainlit.data import get_data_layer
from chainlit.input_widget import Slider, Switch
from chainlit.user_session import user_sessions
from chainlit.utils import utc_now

from chatapp.page import Reply, Step

__all__ = ["ChainlitPage"]

logger = logging.getLogger(__name__)


class _UserSession(MutableMapping[str, Any]):
    """`cl.user_session` of the session in context, as a mapping."""

    def __getitem__(self, key: str) -> Any:
        missing = object()
        value = cl.user_session.get(key, missing)
        if value is missing:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        cl.user_session.set(key, value)

    def __delitem__(self, key: str) -> None:
        cl.user_session.set(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict(user_sessions.get(cl.context.session.id, {})))

    def __len__(self) -> int:
        return len(user_sessions.get(cl.context.session.id, {}))


class _RecalledStep:
    """`Step.send()` draws a step and writes it to the data layer at once. That write (SQLAlchemy
    on SQLite, on the event loop) slowed the reply's first token by about 13 ms in bench/ttft, so
    the step is drawn while the model works on its first token and written once the reply is done."""

    def __init__(self, step: cl.Step) -> None:
        self._step = step

    async def draw(self) -> None:
        await cl.context.emitter.send_step(self._step.to_dict())

    async def persist(self) -> None:
        data_layer = get_data_layer()
        if data_layer is None:
            return
        try:
            await data_layer.create_step(self._step.to_dict())
        except Exception:  # the chat goes on; only a resumed thread misses the step
            logger.exception("the Recalled memories step could not be saved")


class ChainlitPage:
    session: MutableMapping[str, Any] = _UserSession()

    @property
    def user_id(self) -> str:
        user = cl.user_session.get("user")
        if user is None:
            raise PermissionError("not logged in")
        return str(user.identifier)

    @property
    def chat_profile(self) -> str | None:
        profile = cl.user_session.get("chat_profile")
        return str(profile) if profile else None

    def new_reply(self) -> Reply:
        reply: Reply = cl.Message(content="")
        return reply

    async def say(self, text: str) -> None:
        await cl.Message(content=text).send()

    def recalled_step(self, title: str, body: str, started: str) -> Step:
        parent = cl.context.current_step  # the turn's run, which the reply also hangs under: the step shows above it
        step = cl.Step(
            name=title, type="retrieval", parent_id=parent.id if parent else None, default_open=False, show_input=False
        )
        step.start, step.end, step.output = started, utc_now(), body
        return _RecalledStep(step)

    async def notice(self, props: dict[str, Any], for_id: str) -> None:
        await cl.CustomElement(name="MemoryNotice", props=props, display="inline").send(for_id=for_id)

    async def show_panel(self, props: dict[str, Any]) -> None:
        """A new key each time: Chainlit redraws the panel only for a new key (and set_elements
        must come before set_title). `props["apps"]`, when there, is "Connect an app" above the memories."""
        apps = props.pop("apps", None)
        elements = [cl.CustomElement(name="ConnectApps", props=apps)] if apps is not None else []
        elements.append(cl.CustomElement(name="MemorySidebar", props=props))
        await cl.ElementSidebar.set_elements(elements, key=f"memories-{uuid.uuid4()}")
        await cl.ElementSidebar.set_title("Memories")

    async def post_state(self, state: dict[str, Any]) -> None:
        await cl.send_window_message(state)

    async def send_settings(self, memory_enabled: bool, top_k: int) -> None:
        await cl.ChatSettings(
            [
                Switch(
                    id="memory_enabled",
                    label="Use long-term memory",
                    initial=memory_enabled,
                    description="Kept for your next chats. Off: chats neither read nor write your memories.",
                ),
                Slider(id="top_k", label="Memories to recall", initial=top_k, min=1, max=20, step=1),
            ]
        ).send()

    async def delete_thread(self) -> None:
        data_layer = get_data_layer()
        thread_id = cl.context.session.thread_id
        if data_layer is not None and thread_id:
            try:
                await data_layer.delete_thread(thread_id)
            except Exception:
                logger.warning("could not remove the temporary chat %s", thread_id, exc_info=True)
