"""Chainlit entry: logins, one turn through memory, the memory sidebar and its actions.

Start it with `make run` (which runs `python -m chatapp.launch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import uuid
from collections.abc import Coroutine, Mapping
from datetime import date
from functools import partial
from typing import Any

import chainlit as cl
import openai
from chainlit.data import get_data_layer
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.input_widget import Slider, Switch
from chainlit.types import ThreadDict
from chainlit.utils import utc_now

from chatapp.assets import serve_local_only
from chatapp.auth import ensure_auth_secret, valid_username
from chatapp.database import AppStores, open_app_stores
from chatapp.element_storage import LocalStorageClient
from chatapp.extraction_queue import ExtractionQueue
from chatapp.routes import add_file_route
from chatapp.settings import AppSettings
from chatapp.sidebar import MemoryActions, notice_changes, sidebar_props
from chatapp.turn import build_messages, extraction_messages, memory_answer, recalled_step_text, select_memories
from memory import Memory, MemoryLayerError
from memory.llm import StreamReport
from memory.repetition import without_repeat
from memory.types import AddResult

logger = logging.getLogger("app")

MEMORY_AUTHOR = "Memory"  # the author of memory notices in threads made before notices were elements
TEMPORARY_CHAT = "Temporary chat"
# How long the memory notice waits for the reply to appear before it is shown anyway.
NOTICE_WAITS_FOR_REPLY_S = 2.0


def _start() -> tuple[AppSettings, AppStores, Memory]:
    """Open everything at start-up, so a wrong setting or a busy Milvus file stops the app clearly."""
    try:
        settings = AppSettings.from_env()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_auth_secret(settings.secret_file)
        stores = open_app_stores(settings)
        memory = Memory(settings.memory_config(os.environ))
        memory.warm_up()
    except MemoryLayerError as exc:
        print(f"\nThe app cannot start: {exc}\n", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    return settings, stores, memory


SETTINGS, STORES, MEMORY = _start()
QUEUE = ExtractionQueue(MEMORY)
ACTIONS = MemoryActions(MEMORY)
USERS = STORES.users
PREFERENCES = STORES.preferences
ELEMENTS = LocalStorageClient(SETTINGS.data_dir / "elements")
serve_local_only({"authMode": SETTINGS.auth_mode})
add_file_route(ELEMENTS)
MODE = (
    f"Chat: {MEMORY.config.llm.model}, "
    f"{'offline' if MEMORY.config.llm.provider == 'local' else 'at ' + (MEMORY.llm.config.base_url or 'OpenAI')}"
    f" · Memory: {MEMORY.extractor_name} extractor, {MEMORY.config.embedder.model} embeddings"
)

LOCAL_MODEL = MEMORY.config.llm.provider == "local"
if LOCAL_MODEL:  # warm the offline model so the first reply is quick
    threading.Thread(target=MEMORY.llm.base_url, name="warm-local-model", daemon=True).start()


# -- logins ------------------------------------------------------------------------------


@cl.password_auth_callback
async def password_login(username: str, password: str) -> cl.User | None:
    if SETTINGS.auth_mode == "open":
        name = valid_username(username)
        return cl.User(identifier=name, metadata={"provider": "open"}) if name else None
    name = await asyncio.to_thread(USERS.check, username, password)
    return cl.User(identifier=name, metadata={"provider": "password"}) if name else None


if SETTINGS.oauth_providers:

    @cl.oauth_callback
    async def oauth_login(
        provider_id: str, token: str, raw_user_data: dict[str, str], default_user: cl.User, *args: Any
    ) -> cl.User | None:
        return cl.User(identifier=f"{provider_id}:{default_user.identifier}", metadata={"provider": provider_id})


@cl.data_layer
def data_layer() -> SQLAlchemyDataLayer:
    return SQLAlchemyDataLayer(conninfo=SETTINGS.database_url, storage_provider=ELEMENTS)


def current_user_id() -> str:
    user = cl.user_session.get("user")
    if user is None:
        raise PermissionError("not logged in")
    return str(user.identifier)


# -- chat --------------------------------------------------------------------------------


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
            name=TEMPORARY_CHAT,
            markdown_description="Neither reads nor writes memory, and is removed from your chats when you leave it.",
            icon="/public/temporary.svg",
        ),
    ]


def memory_state() -> str:
    """This chat's memory: "on", "off" (the user's switch) or "temporary" (a temporary chat)."""
    if cl.user_session.get("chat_profile") == TEMPORARY_CHAT:
        return "temporary"
    return "on" if cl.user_session.get("memory_enabled", True) else "off"


async def _start_session() -> None:
    """The user's saved settings for this chat, and the page told what memory does here."""
    preferences = await asyncio.to_thread(PREFERENCES.get, current_user_id())
    cl.user_session.set("memory_enabled", preferences.memory_enabled)
    cl.user_session.set("top_k", SETTINGS.top_k)
    cl.user_session.set("panel_open", False)
    await cl.ChatSettings(
        [
            Switch(
                id="memory_enabled",
                label="Use long-term memory",
                initial=preferences.memory_enabled,
                description="Kept for your next chats. Off: chats neither read nor write your memories.",
            ),
            Slider(id="top_k", label="Memories to recall", initial=SETTINGS.top_k, min=1, max=20, step=1),
        ]
    ).send()
    await send_page_state(panel_preferred=preferences.panel_open)


async def send_page_state(panel_preferred: bool | None = None) -> None:
    """Tell public/memory-ui.js whether memory is on (its header indicator), and whether the user
    keeps the panel open (it then opens the panel on a wide screen, never on a phone)."""
    state: dict[str, Any] = {"memoryChat": "state", "memory": memory_state()}
    if panel_preferred is not None:
        state["panelPreferred"] = panel_preferred
    await cl.send_window_message(state)


@cl.on_chat_start
async def on_chat_start() -> None:
    cl.user_session.set("history", [])
    await _start_session()


@cl.on_chat_end
async def on_chat_end() -> None:
    """A temporary chat leaves nothing behind: its thread goes when the user leaves it."""
    if cl.user_session.get("chat_profile") != TEMPORARY_CHAT:
        return
    data_layer = get_data_layer()
    thread_id = cl.context.session.thread_id
    if data_layer is not None and thread_id:
        try:
            await data_layer.delete_thread(thread_id)
        except Exception:
            logger.warning("could not remove the temporary chat %s", thread_id, exc_info=True)


@cl.on_chat_resume
async def on_chat_resume(thread: ThreadDict) -> None:
    history = []
    for step in sorted(thread.get("steps", []), key=lambda s: s.get("createdAt") or ""):
        if step.get("type") == "user_message" and step.get("output"):
            history.append({"role": "user", "content": str(step["output"])})
        elif step.get("type") == "assistant_message" and step.get("output") and step.get("name") != MEMORY_AUTHOR:
            history.append({"role": "assistant", "content": str(step["output"])})
    cl.user_session.set("history", history)
    # Chainlit emits `resume_thread` after this callback returns, and the browser resets the
    # panel when it gets it: tell the page (which may reopen the panel) once that has gone out.
    _in_background(_start_session_later(0.3))


_BACKGROUND: set[asyncio.Task[None]] = set()


def _in_background(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run without awaiting, keeping a reference until done (the loop only keeps weak ones)."""
    task = asyncio.create_task(coroutine)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


async def _start_session_later(delay: float) -> None:
    await asyncio.sleep(delay)
    try:
        await _start_session()
    except Exception:  # the session may be gone by then
        logger.debug("late session start skipped", exc_info=True)


@cl.on_settings_update
async def on_settings_update(settings: dict[str, Any]) -> None:
    enabled = bool(settings.get("memory_enabled", True))
    cl.user_session.set("memory_enabled", enabled)
    cl.user_session.set("top_k", int(settings.get("top_k", SETTINGS.top_k)))
    await asyncio.to_thread(PREFERENCES.set, current_user_id(), memory_enabled=enabled)
    await send_page_state()


@cl.on_message
async def on_message(message: cl.Message) -> None:
    user_id = current_user_id()
    text = message.content or ""
    if not text.strip():
        await cl.Message(content="Your message is empty: type something to chat.").send()
        return
    if len(text) > SETTINGS.max_message_chars:
        await cl.Message(
            content=f"Your message has {len(text):,} characters; the limit is {SETTINGS.max_message_chars:,}. "
            "Please send it in parts. Nothing was saved to memory."
        ).send()
        return

    memory_on = memory_state() == "on"
    history: list[dict[str, str]] = cl.user_session.get("history") or []
    recalled: list[Mapping[str, Any]] | None = None
    recalled_step: cl.Step | None = None
    reply_message = cl.Message(content="")
    reply_shown = asyncio.Event()
    if memory_on:
        recalled, recalled_step = await recall(user_id, text)
        # The turn's memory never waits for (or depends on) the reply: a slow, stopped or failed
        # reply still gets its update. The notice waits for the reply to appear, so it hangs below it.
        on_done = partial(_after_extraction, reply_shown=reply_shown, reply=reply_message, question=message)
        QUEUE.submit(user_id, extraction_messages(history, text), on_done)

    messages = build_messages(recalled, history, text, date.today(), SETTINGS.history_token_budget, brief=LOCAL_MODEL)
    shown = asyncio.create_task(_draw_step(recalled_step)) if recalled_step else None
    from_memories = memory_answer(text, recalled) if LOCAL_MODEL else None
    reply: str | None
    try:
        if from_memories is not None:
            reply = await send_answer(reply_message, from_memories, after=shown, started=reply_shown)
        else:
            reply = await stream_reply(reply_message, messages, after=shown, started=reply_shown)
    finally:
        reply_shown.set()  # also when the user pressed Stop (the task is cancelled)
    if reply is not None:
        history.extend([{"role": "user", "content": text}, {"role": "assistant", "content": reply}])
        cl.user_session.set("history", history)
    if recalled_step is not None:
        await _persist_step(recalled_step)


async def recall(user_id: str, text: str) -> tuple[list[Mapping[str, Any]], cl.Step]:
    """The memories for this turn's prompt, and the "Recalled memories" step that shows them."""
    top_k = int(cl.user_session.get("top_k", SETTINGS.top_k))
    started = utc_now()
    chosen: list[Mapping[str, Any]] = []
    try:
        hits = (await asyncio.to_thread(MEMORY.search, text[:8000], user_id=user_id, limit=top_k))["results"]
        chosen = select_memories(hits, SETTINGS.memory_token_budget)
        title, shown = recalled_step_text(chosen, MEMORY.config.vector_store.metric_type)
    except MemoryLayerError as exc:
        title, shown = "Memory search failed", f"Memory search failed: {exc}. Answering without memories."
    parent = cl.context.current_step  # the turn's run, which the reply also hangs under: the step shows above it
    step = cl.Step(
        name=title,
        type="retrieval",
        parent_id=parent.id if parent else None,
        default_open=False,
        show_input=False,
    )
    step.start, step.end, step.output = started, utc_now(), shown
    return chosen, step


# `Step.send()` draws a step and writes it to the data layer at once. That write (SQLAlchemy on
# SQLite, on the event loop) slowed the reply's first token by about 13 ms in bench/ttft, so the
# step is drawn while the model works on its first token and written once the reply is done.
async def _draw_step(step: cl.Step) -> None:
    await cl.context.emitter.send_step(step.to_dict())


async def _persist_step(step: cl.Step) -> None:
    data_layer = get_data_layer()
    if data_layer is None:
        return
    try:
        await data_layer.create_step(step.to_dict())
    except Exception:  # the chat goes on; only a resumed thread misses the step
        logger.exception("the Recalled memories step could not be saved")


async def stream_reply(
    reply: cl.Message,
    messages: list[dict[str, str]],
    after: asyncio.Task[None] | None = None,
    started: asyncio.Event | None = None,
) -> str | None:
    """Stream the model's reply into `reply`; `after` (drawing the recalled step) finishes before the
    reply's first token, and `started` is set once that token is on screen."""
    error: Exception | None = None
    report = StreamReport()
    try:
        async for piece in MEMORY.llm.stream(messages, report=report):
            if after is not None:
                await after
                after = None
            await reply.stream_token(piece)
            if started is not None:
                started.set()
    except (openai.APIError, MemoryLayerError) as exc:
        error = exc
    if after is not None:
        await after
    if error is not None:
        reply.content = (
            f"⚠️ The chat model at {MEMORY.llm.where} did not answer ({type(error).__name__}: {str(error)[:300]}). "
            "Check that it is running and that the key is right, then send your message again."
        )
        await reply.send()
        return None
    if report.guarded:  # the offline model may have begun to loop, up to its last words: show it up to the loop
        reply.content = without_repeat(reply.content)
    if not reply.content.strip():
        reply.content = "(The model returned an empty reply.)"
    await reply.send()
    return reply.content


async def send_answer(reply: cl.Message, answer: str, after: asyncio.Task[None] | None, started: asyncio.Event) -> str:
    """A reply the app writes itself (the offline model's answer to "What do you know about me?")."""
    if after is not None:
        await after
    reply.content = answer
    await reply.send()
    started.set()
    return answer


async def _after_extraction(
    result: AddResult | None,
    error: BaseException | None,
    reply_shown: asyncio.Event,
    reply: cl.Message,
    question: cl.Message,
) -> None:
    """The turn's memory notice: a compact element under the reply (under the question if the
    reply has not appeared within NOTICE_WAITS_FOR_REPLY_S). Elements are never model history."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reply_shown.wait(), NOTICE_WAITS_FOR_REPLY_S)
    if error is not None:
        props: dict[str, Any] = {"error": f"Memory was not updated for that turn: {str(error).rstrip('.')}."}
    elif result and result["results"]:
        props = {"changes": notice_changes(result)}
    else:
        return
    notice = cl.CustomElement(name="MemoryNotice", props=props, display="inline")
    await notice.send(for_id=reply.id if reply_shown.is_set() and reply.content else question.id)
    if cl.user_session.get("panel_open"):
        await refresh_sidebar()


# -- the Memories panel -------------------------------------------------------------------


async def refresh_sidebar(notice: str = "", focus: str | None = None) -> None:
    """Show the panel anew (Chainlit opens it); `notice` shows at its top, `focus` scrolls to a memory."""
    user_id = current_user_id()
    props = await asyncio.to_thread(sidebar_props, MEMORY, user_id, MODE)
    props["notice"] = notice
    props["focus"] = focus
    props["memory_state"] = memory_state()
    element = cl.CustomElement(name="MemorySidebar", props=props)
    await cl.ElementSidebar.set_elements([element], key=f"memories-{uuid.uuid4()}")
    await cl.ElementSidebar.set_title("Memories")
    cl.user_session.set("panel_open", True)


@cl.on_window_message
async def on_window_message(data: Any) -> None:
    """The page's panel requests (public/memory-ui.js, MemorySidebar.jsx), through window.postMessage."""
    if not isinstance(data, dict) or cl.user_session.get("user") is None:
        return
    request, wide = data.get("memoryChat"), bool(data.get("wide"))
    if request == "open-panel":
        focus = data.get("focus")
        await refresh_sidebar(focus=str(focus) if isinstance(focus, str) else None)
        if wide and data.get("byUser"):
            await asyncio.to_thread(PREFERENCES.set, current_user_id(), panel_open=True)
    elif request == "panel-closed":
        cl.user_session.set("panel_open", False)
        if wide:  # closed by the user on a wide screen: keep it closed in the next chats
            await asyncio.to_thread(PREFERENCES.set, current_user_id(), panel_open=False)
    elif request == "panel-moved" and cl.user_session.get("panel_open"):
        # Chainlit, not the user, closed the panel (2.12 does around a new thread's first message,
        # when it moves the page to /thread/<id>): show it again (see MemorySidebar.jsx).
        await refresh_sidebar()


@cl.action_callback("memory_action")
async def on_memory_action(action: cl.Action) -> dict[str, Any]:
    user_id = current_user_id()
    payload = action.payload if isinstance(action.payload, dict) else {}
    result = await asyncio.to_thread(ACTIONS.handle, user_id, payload)
    if result.get("ok") and payload.get("op") not in ("export", "search"):
        await refresh_sidebar(notice=str(result.get("message", "")), focus=result.get("focus"))
    return result


@cl.action_callback("memory_undo")
async def on_memory_undo(action: cl.Action) -> dict[str, Any]:
    """Undo on a memory notice: reverse that turn's changes (only the user's own memories)."""
    payload = action.payload if isinstance(action.payload, dict) else {}
    result = await asyncio.to_thread(ACTIONS.undo, current_user_id(), payload.get("changes"))
    if result.get("ok") and cl.user_session.get("panel_open"):
        await refresh_sidebar(notice=str(result.get("message", "")))
    return result
