"""Chainlit entry: registers the callbacks. The chat's logic is in chatapp/handlers.py, what it
opens at start in chatapp/runtime.py; start it with `make run` (`python -m chatapp.launch`)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import chainlit as cl
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.types import ThreadDict

from chatapp import handlers
from chatapp.assets import serve_local_only
from chatapp.auth import valid_username
from chatapp.chainlit_page import ChainlitPage
from chatapp.element_storage import LocalStorageClient
from chatapp.routes import add_api_routes, add_file_route
from chatapp.runtime import Services, start
from memory import MemoryLayerError


def _start() -> Services:
    try:
        return start()
    except MemoryLayerError as exc:
        print(f"\nThe app cannot start: {exc}\n", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


APP = _start()
PAGE = ChainlitPage()
ELEMENTS = LocalStorageClient(APP.settings.data_dir / "elements")
serve_local_only({"authMode": APP.settings.auth_mode})
add_file_route(ELEMENTS)
add_api_routes(APP)


@cl.password_auth_callback
async def password_login(username: str, password: str) -> cl.User | None:
    if APP.settings.auth_mode == "open":
        name = valid_username(username)
        return cl.User(identifier=name, metadata={"provider": "open"}) if name else None
    name = await asyncio.to_thread(APP.users.check, username, password)
    return cl.User(identifier=name, metadata={"provider": "password"}) if name else None


if APP.settings.oauth_providers:

    @cl.oauth_callback
    async def oauth_login(
        provider_id: str, token: str, raw_user_data: dict[str, str], default_user: cl.User, *args: Any
    ) -> cl.User | None:
        return cl.User(identifier=f"{provider_id}:{default_user.identifier}", metadata={"provider": provider_id})


@cl.data_layer
def data_layer() -> SQLAlchemyDataLayer:
    return SQLAlchemyDataLayer(conninfo=APP.settings.database_url, storage_provider=ELEMENTS)


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    return [
        cl.Starter(
            label="Introduce yourself", message="Hi! I'm Alice. I love playing tennis on weekends and I live in Lisbon."
        ),
        cl.Starter(label="What do you remember?", message="What do you remember about me?"),
        cl.Starter(label="Change a fact", message="I moved to Porto last month."),
        cl.Starter(label="日本語で", message="私はコーヒーが好きです。"),
    ]


@cl.set_chat_profiles
async def chat_profiles(user: cl.User | None = None, language: str | None = None) -> list[cl.ChatProfile]:
    return [
        cl.ChatProfile(
            name="Chat",
            markdown_description="Remembers what you tell it, and uses what it remembers.",
            icon="/public/favicon.svg",
            default=True,
        ),
        cl.ChatProfile(
            name=handlers.TEMPORARY_CHAT,
            markdown_description="Neither reads nor writes memory, and is removed from your chats when you leave it.",
            icon="/public/temporary.svg",
        ),
    ]


@cl.on_chat_start
async def on_chat_start() -> None:
    PAGE.session["history"] = []
    await handlers.start_session(PAGE, APP)


@cl.on_chat_end
async def on_chat_end() -> None:
    await handlers.end_chat(PAGE)


@cl.on_chat_resume
async def on_chat_resume(thread: ThreadDict) -> None:
    PAGE.session["history"] = handlers.history_from_steps(thread.get("steps", []))
    # Chainlit emits `resume_thread` after this callback returns, and the browser resets the
    # panel when it gets it: tell the page (which may reopen the panel) once that has gone out.
    handlers.in_background(handlers.start_session_later(PAGE, APP, delay=0.3))


@cl.on_settings_update
async def on_settings_update(settings: dict[str, Any]) -> None:
    await handlers.settings_updated(PAGE, APP, settings)


@cl.on_message
async def on_message(message: cl.Message) -> None:
    await handlers.on_message(PAGE, APP, message.content or "", message.id)


@cl.on_window_message
async def on_window_message(data: Any) -> None:
    if cl.user_session.get("user") is not None:
        await handlers.window_message(PAGE, APP, data)


@cl.action_callback("memory_action")
async def on_memory_action(action: cl.Action) -> dict[str, Any]:
    return await handlers.memory_action(PAGE, APP, action.payload)


@cl.action_callback("app_token")
async def on_app_token(action: cl.Action) -> dict[str, Any]:
    return await handlers.app_token_action(PAGE, APP, action.payload)


@cl.action_callback("memory_undo")
async def on_memory_undo(action: cl.Action) -> dict[str, Any]:
    return await handlers.memory_undo(PAGE, APP, action.payload)
