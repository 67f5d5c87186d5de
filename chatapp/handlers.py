"""The chat's logic, as plain async functions over a `Page` (page.py) and the app's `Services`:
one turn through memory, the session's settings, and the Memories panel. app.py registers them
as Chainlit callbacks; tests drive them with a recording page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import openai

from chatapp.api.panel import add_app_props, token_action
from chatapp.repetition import without_repeat
from chatapp.reply import StreamReport
from chatapp.runtime import Services
from chatapp.sidebar import notice_changes, sidebar_props
from chatapp.turn import build_messages, extraction_messages, memory_answer, recalled_step_text, select_memories
from memory import AddResult, MemoryLayerError

from .page import Page, Reply, Step

__all__ = [
    "MEMORY_AUTHOR",
    "TEMPORARY_CHAT",
    "app_token_action",
    "end_chat",
    "history_from_steps",
    "in_background",
    "memory_action",
    "memory_state",
    "memory_undo",
    "on_message",
    "refresh_panel",
    "settings_updated",
    "start_session",
    "start_session_later",
    "window_message",
]

logger = logging.getLogger(__name__)

MEMORY_AUTHOR = "Memory"  # the author of memory notices in threads made before notices were elements
TEMPORARY_CHAT = "Temporary chat"
# How long the memory notice waits for the reply to appear before it is shown anyway.
NOTICE_WAITS_FOR_REPLY_S = 2.0


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


def memory_state(page: Page) -> str:
    """This chat's memory: "on", "off" (the user's switch) or "temporary" (a temporary chat)."""
    if page.chat_profile == TEMPORARY_CHAT:
        return "temporary"
    return "on" if page.session.get("memory_enabled", True) else "off"


# -- the session -------------------------------------------------------------------------


async def start_session(page: Page, services: Services) -> None:
    """The user's saved settings for this chat, and the page told what memory does here."""
    preferences = await asyncio.to_thread(services.preferences.get, page.user_id)
    page.session["memory_enabled"] = preferences.memory_enabled
    page.session["top_k"] = services.settings.top_k
    page.session["panel_open"] = False
    await page.send_settings(preferences.memory_enabled, services.settings.top_k)
    await post_page_state(page, panel_preferred=preferences.panel_open)


async def start_session_later(page: Page, services: Services, delay: float) -> None:
    """`start_session` after `delay`, if the session is still there then."""
    await asyncio.sleep(delay)
    try:
        await start_session(page, services)
    except Exception:  # the session may be gone by then
        logger.debug("late session start skipped", exc_info=True)


_BACKGROUND: set[asyncio.Task[None]] = set()


def in_background(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run without awaiting, keeping a reference until done (the loop only keeps weak ones)."""
    task = asyncio.create_task(coroutine)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


async def post_page_state(page: Page, panel_preferred: bool | None = None) -> None:
    """Tell public/memory-ui.js whether memory is on (its header indicator), and whether the user
    keeps the panel open (it then opens the panel on a wide screen, never on a phone)."""
    state: dict[str, Any] = {"memoryChat": "state", "memory": memory_state(page)}
    if panel_preferred is not None:
        state["panelPreferred"] = panel_preferred
    await page.post_state(state)


def history_from_steps(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """A resumed thread's model history: its user and assistant messages in order, without notices."""
    history = []
    for step in sorted(steps, key=lambda s: s.get("createdAt") or ""):
        if step.get("type") == "user_message" and step.get("output"):
            history.append({"role": "user", "content": str(step["output"])})
        elif step.get("type") == "assistant_message" and step.get("output") and step.get("name") != MEMORY_AUTHOR:
            history.append({"role": "assistant", "content": str(step["output"])})
    return history


async def settings_updated(page: Page, services: Services, settings: Mapping[str, Any]) -> None:
    enabled = bool(settings.get("memory_enabled", True))
    page.session["memory_enabled"] = enabled
    page.session["top_k"] = int(settings.get("top_k", services.settings.top_k))
    await asyncio.to_thread(services.preferences.set, page.user_id, memory_enabled=enabled)
    await post_page_state(page)


async def end_chat(page: Page) -> None:
    """A temporary chat leaves nothing behind: its thread goes when the user leaves it."""
    if page.chat_profile == TEMPORARY_CHAT:
        await page.delete_thread()


# -- one turn ----------------------------------------------------------------------------


async def on_message(page: Page, services: Services, text: str, question_id: str) -> None:
    """Recall, reply and, beside the reply, the turn's memory update with its notice."""
    settings = services.settings
    refusal = None
    if not text.strip():
        refusal = "Your message is empty: type something to chat."
    elif len(text) > settings.max_message_chars:
        refusal = (
            f"Your message has {len(text):,} characters; the limit is {settings.max_message_chars:,}. "
            "Please send it in parts. Nothing was saved to memory."
        )
    if refusal is not None:
        await page.say(refusal)
        await page.post_state({"memoryChat": "memory-checked", "changes": 0, "refused": True})
        return

    history: list[dict[str, str]] = page.session.get("history") or []
    recalled: list[Mapping[str, Any]] | None = None
    step: Step | None = None
    reply = page.new_reply()
    reply_shown = asyncio.Event()
    if memory_state(page) == "on":
        recalled, step = await recall(page, services, text)
        # The turn's memory never waits for (or depends on) the reply: a slow, stopped or failed
        # reply still gets its update. The notice waits for the reply to appear, so it hangs below it.
        on_done = partial(_show_notice, page, services, reply_shown=reply_shown, reply=reply, question_id=question_id)
        services.queue.submit(page.user_id, extraction_messages(history, text), on_done)

    local = services.reply_model.is_local
    messages = build_messages(recalled, history, text, date.today(), settings.history_token_budget, brief=local)
    drawn = asyncio.create_task(step.draw()) if step else None
    from_memories = memory_answer(text, recalled) if local else None
    answer: str | None
    try:
        if from_memories is not None:
            answer = await _send_answer(reply, from_memories, after=drawn, started=reply_shown)
        else:
            answer = await _stream_reply(services, reply, messages, after=drawn, started=reply_shown)
    finally:
        reply_shown.set()  # also when the user pressed Stop (the task is cancelled)
    if answer is not None:
        history.extend([{"role": "user", "content": text}, {"role": "assistant", "content": answer}])
        page.session["history"] = history
    if step is not None:
        await step.persist()
    else:  # no memory work was due: say so as a turn with memory does when its update is done
        await page.post_state({"memoryChat": "memory-checked", "changes": 0, "memory": memory_state(page)})


async def recall(page: Page, services: Services, text: str) -> tuple[list[Mapping[str, Any]], Step]:
    """The memories for this turn's prompt, and the "Recalled memories" step that shows them."""
    top_k = int(page.session.get("top_k", services.settings.top_k))
    started = _utc_now()
    chosen: list[Mapping[str, Any]] = []
    try:
        found = await services.async_memory.search(text[:8000], user_id=page.user_id, limit=top_k)
        chosen = select_memories(found["results"], services.settings.memory_token_budget)
        title, body = recalled_step_text(chosen, services.memory.config.vector_store.metric_type)
    except MemoryLayerError as exc:
        title, body = "Memory search failed", f"Memory search failed: {exc}. Answering without memories."
    return chosen, page.recalled_step(title, body, started)


async def _stream_reply(
    services: Services,
    reply: Reply,
    messages: list[dict[str, str]],
    after: asyncio.Task[None] | None,
    started: asyncio.Event,
) -> str | None:
    """Stream the model's reply; `after` (drawing the recalled step) finishes before the reply's
    first token, and `started` is set once that token is on screen."""
    error: Exception | None = None
    report = StreamReport()
    model = services.reply_model
    try:
        async for piece in model.stream(messages, report=report):
            if after is not None:
                await after
                after = None
            await reply.stream_token(piece)
            started.set()
    except (openai.APIError, MemoryLayerError) as exc:
        error = exc
    if after is not None:
        await after
    if error is not None:
        reply.content = (
            f"⚠️ The chat model at {model.where} did not answer ({type(error).__name__}: {str(error)[:300]}). "
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


async def _send_answer(reply: Reply, answer: str, after: asyncio.Task[None] | None, started: asyncio.Event) -> str:
    """A reply the app writes itself (the offline model's answer to "What do you know about me?")."""
    if after is not None:
        await after
    reply.content = answer
    await reply.send()
    started.set()
    return answer


async def _show_notice(
    page: Page,
    services: Services,
    result: AddResult | None,
    error: BaseException | None,
    *,
    reply_shown: asyncio.Event,
    reply: Reply,
    question_id: str,
) -> None:
    """The turn's memory notice: a compact element under the reply (under the question if the
    reply has not appeared within NOTICE_WAITS_FOR_REPLY_S). Elements are never model history."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reply_shown.wait(), NOTICE_WAITS_FOR_REPLY_S)
    changes = len(result["results"]) if result else 0
    props: dict[str, Any] | None = None
    if error is not None:
        props = {"error": f"Memory was not updated for that turn: {str(error).rstrip('.')}."}
    elif changes and result:
        props = {"changes": notice_changes(result)}
    if props is not None:
        await page.notice(props, for_id=reply.id if reply_shown.is_set() and reply.content else question_id)
        if page.session.get("panel_open"):
            await refresh_panel(page, services)
    # Said also when nothing changed, so a client knows the turn's memory is settled (tests wait on it).
    await page.post_state({"memoryChat": "memory-checked", "changes": changes, "failed": error is not None})


# -- the Memories panel -------------------------------------------------------------------


async def refresh_panel(page: Page, services: Services, notice: str = "", focus: str | None = None) -> None:
    """Show the panel anew; `notice` shows at its top, `focus` scrolls to a memory."""
    props = await asyncio.to_thread(sidebar_props, services.memory, page.user_id, services.mode)
    await asyncio.to_thread(add_app_props, props, services.api, page.user_id)  # tokens, last reads
    props.update(notice=notice, focus=focus, memory_state=memory_state(page))
    await page.show_panel(props)
    page.session["panel_open"] = True


async def window_message(page: Page, services: Services, data: Any) -> None:
    """The page's panel requests (public/memory-ui.js, MemorySidebar.jsx), through window.postMessage."""
    if not isinstance(data, dict):
        return
    request, wide = data.get("memoryChat"), bool(data.get("wide"))
    if request == "open-panel":
        focus = data.get("focus")
        await refresh_panel(page, services, focus=str(focus) if isinstance(focus, str) else None)
        if wide and data.get("byUser"):
            await asyncio.to_thread(services.preferences.set, page.user_id, panel_open=True)
    elif request == "panel-closed":
        page.session["panel_open"] = False
        if wide:  # closed by the user on a wide screen: keep it closed in the next chats
            await asyncio.to_thread(services.preferences.set, page.user_id, panel_open=False)
    elif request == "panel-moved" and page.session.get("panel_open"):
        # Chainlit, not the user, closed the panel (2.12 does around a new thread's first message,
        # when it moves the page to /thread/<id>): show it again (see MemorySidebar.jsx).
        await refresh_panel(page, services)


async def memory_action(page: Page, services: Services, payload: Any) -> dict[str, Any]:
    payload = payload if isinstance(payload, dict) else {}
    result = await asyncio.to_thread(services.actions.handle, page.user_id, payload)
    if result.get("ok") and payload.get("op") not in ("export", "search"):
        await refresh_panel(page, services, notice=str(result.get("message", "")), focus=result.get("focus"))
    return result


async def app_token_action(page: Page, services: Services, payload: Any) -> dict[str, Any]:
    """The panel's "Connect an app": make or revoke one of the user's tokens. The answer carries the
    token list, so the panel is not redrawn (a redraw would hide a token that is shown once)."""
    payload = payload if isinstance(payload, dict) else {}
    return await asyncio.to_thread(token_action, services.api, page.user_id, payload)


async def memory_undo(page: Page, services: Services, payload: Any) -> dict[str, Any]:
    """Undo on a memory notice: reverse that turn's changes (only the user's own memories)."""
    payload = payload if isinstance(payload, dict) else {}
    result = await asyncio.to_thread(services.actions.undo, page.user_id, payload.get("changes"))
    if result.get("ok") and page.session.get("panel_open"):
        await refresh_panel(page, services, notice=str(result.get("message", "")))
    return result
