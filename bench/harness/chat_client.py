"""A chat user without a browser: logs in over HTTP and chats over Chainlit's socket.io, as the page
does. Used by the scale-out tests and bench/load.py. It keeps cookies (the login's, and the
proxy's routing cookie), so a client stays on one app process behind nginx."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import socketio


@dataclass
class Turn:
    """One message and what came back, with times in seconds from sending it."""

    text: str
    sent_at: float | None = None  # time.perf_counter() when sent
    reply: str = ""
    first_token_s: float | None = None
    reply_done_s: float | None = None
    notice: dict[str, Any] | None = None
    notice_s: float | None = None
    thread_id: str | None = None
    errors: list[str] = field(default_factory=list)


class ChatClient:
    def __init__(self, base_url: str, user: str, password: str = "any-password") -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.password = password
        self.session_id = str(uuid.uuid4())
        self.http: aiohttp.ClientSession | None = None
        self.sio: socketio.AsyncClient | None = None
        self.thread_id: str | None = None
        self._turn: Turn | None = None
        self._turn_started = 0.0
        self._reply_id: str | None = None
        self._done = asyncio.Event()
        self._memory_checked = asyncio.Event()
        self._resumed = asyncio.Event()
        self.resumed_thread: dict[str, Any] | None = None
        self.notices: list[tuple[float, dict[str, Any]]] = []  # every memory notice: (perf_counter, props)

    async def login(self) -> None:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with self.http.get(self.base_url + "/") as response:  # the proxy's routing cookie comes first
            response.raise_for_status()
        form = aiohttp.FormData({"username": self.user, "password": self.password})
        async with self.http.post(self.base_url + "/login", data=form) as response:
            if response.status != 200:
                raise RuntimeError(f"login of {self.user!r} failed: HTTP {response.status}")

    async def connect(self, thread_id: str = "", transports: list[str] | None = None) -> None:
        assert self.http is not None, "login first"
        self.sio = socketio.AsyncClient(http_session=self.http, reconnection=False)
        self.sio.on("new_message", self._on_message)
        self.sio.on("update_message", self._on_message)
        self.sio.on("stream_start", self._on_stream_start)
        self.sio.on("stream_token", self._on_token)
        self.sio.on("element", self._on_element)
        self.sio.on("first_interaction", self._on_first_interaction)
        self.sio.on("resume_thread", self._on_resume)
        self.sio.on("task_end", self._on_task_end)
        self.sio.on("window_message", self._on_window_message)
        auth = {
            "clientType": "webapp",
            "sessionId": self.session_id,
            "threadId": thread_id,
            "userEnv": "{}",
            "chatProfile": "",
        }
        await self.sio.connect(
            self.base_url,
            socketio_path="/ws/socket.io",
            auth=auth,
            transports=transports or ["polling", "websocket"],
            wait_timeout=30,
        )
        await self.sio.emit("connection_successful")

    async def resume(self, thread_id: str, timeout: float = 30) -> dict[str, Any]:
        """Open an existing thread in a new session (as a reload of /thread/<id> does)."""
        self.session_id = str(uuid.uuid4())
        await self.connect(thread_id)
        await asyncio.wait_for(self._resumed.wait(), timeout)
        assert self.resumed_thread is not None
        return self.resumed_thread

    async def say(self, text: str, timeout: float = 120, wait_for_memory: float = 0.0) -> Turn:
        """Send one message; wait for the reply, and up to `wait_for_memory` s for the turn's memory
        update to be done (the app says so, with or without a notice: "memory-checked")."""
        assert self.sio is not None, "connect first"
        self._turn = Turn(text)
        self._done.clear()
        self._memory_checked.clear()
        self._reply_id = None
        message = {
            "id": str(uuid.uuid4()),
            "threadId": self.thread_id or "",
            "name": self.user,
            "type": "user_message",
            "output": text,
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        self._turn_started = self._turn.sent_at = time.perf_counter()
        await self.sio.emit("client_message", {"message": message, "fileReferences": []})
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            self._turn.errors.append(f"no reply within {timeout:.0f} s")
        if wait_for_memory:
            try:
                await asyncio.wait_for(self._memory_checked.wait(), wait_for_memory)
            except TimeoutError:
                self._turn.errors.append(f"memory not updated within {wait_for_memory:.0f} s")
        self._turn.thread_id = self.thread_id
        return self._turn

    async def action(self, name: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """A panel action, as the Memories panel sends it: POST /project/action with this session."""
        assert self.http is not None
        body = {"sessionId": self.session_id, "action": {"name": name, "payload": payload, "id": str(uuid.uuid4())}}
        async with self.http.post(self.base_url + "/project/action", json=body) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = await response.text()
            return response.status, data

    async def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            await self.sio.disconnect()
        if self.http is not None:
            await self.http.close()

    # -- events -------------------------------------------------------------------------

    def _elapsed(self) -> float:
        return time.perf_counter() - self._turn_started

    async def _on_first_interaction(self, data: dict[str, Any]) -> None:
        self.thread_id = data.get("thread_id") or self.thread_id

    async def _on_resume(self, thread: dict[str, Any]) -> None:
        self.resumed_thread = thread
        self.thread_id = thread.get("id")
        self._resumed.set()

    async def _on_stream_start(self, step: dict[str, Any]) -> None:
        if self._turn is not None and step.get("type") == "assistant_message":
            self._reply_id = step.get("id")

    async def _on_token(self, data: dict[str, Any]) -> None:
        turn = self._turn
        if turn is not None and data.get("id") == self._reply_id and turn.first_token_s is None:
            turn.first_token_s = self._elapsed()

    async def _on_message(self, step: dict[str, Any]) -> None:
        turn = self._turn
        if turn is None or step.get("type") != "assistant_message":
            return
        if step.get("name") == "Error" or step.get("isError"):
            turn.errors.append(str(step.get("output")))
        if self._reply_id is None or step.get("id") == self._reply_id:
            self._reply_id = step.get("id")
            turn.reply = str(step.get("output") or "")
            if turn.first_token_s is None and turn.reply:
                turn.first_token_s = self._elapsed()

    async def _on_task_end(self, *_: Any) -> None:
        if self._turn is not None and (self._turn.reply or self._turn.errors):
            self._turn.reply_done_s = self._elapsed()
            self._done.set()

    async def _on_window_message(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("memoryChat") == "memory-checked":
            self._memory_checked.set()

    async def _on_element(self, element: dict[str, Any]) -> None:
        turn = self._turn
        if element.get("name") == "MemoryNotice":
            self.notices.append((time.perf_counter(), element.get("props") or {}))
        if turn is not None and element.get("name") == "MemoryNotice":
            turn.notice = element.get("props") or {}
            turn.notice_s = self._elapsed()
