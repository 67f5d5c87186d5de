"""Everything the chat app opens at start: settings, the app's database, the memory library, the
reply model; so a wrong setting or a busy Milvus file stops the app clearly, before anyone logs in."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from chatapp.api.access import AccessLog
from chatapp.api.service import MemoryApi, RateLimit
from chatapp.api.settings import ApiSettings
from chatapp.api.tokens import TokenStore
from chatapp.auth import Users, ensure_auth_secret
from chatapp.database import open_app_database
from chatapp.extraction_queue import ExtractionQueue
from chatapp.preferences import Preferences
from chatapp.reply import ReplyModel
from chatapp.settings import AppSettings
from chatapp.sidebar import MemoryActions
from memory import AsyncMemory, Database, Memory

__all__ = ["Services", "mode_line", "start"]


@dataclass
class Services:
    settings: AppSettings
    database: Database
    users: Users
    preferences: Preferences
    memory: Memory
    async_memory: AsyncMemory  # the same Memory, for the turn and the API (the panel's actions run in a thread)
    reply_model: ReplyModel
    queue: ExtractionQueue
    actions: MemoryActions
    api: MemoryApi  # what other apps reach through /api/v1 and /memory/mcp
    api_settings: ApiSettings
    mode: str  # which models are in use, for the panel

    def close(self) -> None:
        self.memory.close()
        self.database.close()


def mode_line(memory: Memory) -> str:
    llm = memory.config.llm
    where = "offline" if llm.provider == "local" else "at " + (llm.base_url or "OpenAI")
    return (
        f"Chat: {llm.model}, {where} · Memory: {memory.extractor_name} extractor, "
        f"{memory.config.embedder.model} embeddings"
    )


def start(settings: AppSettings | None = None, env: Mapping[str, str] = os.environ) -> Services:
    """Open everything; a `MemoryLayerError` says what is wrong. The offline model is warmed in the
    background, so the first reply is quick."""
    settings = settings or AppSettings.from_env(env)
    api_settings = ApiSettings.from_env(env, settings.host)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_auth_secret(settings.secret_file)
    database = open_app_database(settings.app_database, None if settings.uses_postgres else settings.data_dir)
    try:
        memory = Memory(settings.memory_config(env))
    except BaseException:
        database.close()
        raise
    memory.warm_up()
    async_memory = AsyncMemory(memory=memory)
    reply_model = ReplyModel(memory.config.llm)
    if reply_model.is_local:
        threading.Thread(target=reply_model.base_url, name="warm-local-model", daemon=True).start()
    return Services(
        settings=settings,
        database=database,
        users=Users(database),
        preferences=Preferences(database),
        memory=memory,
        async_memory=async_memory,
        reply_model=reply_model,
        queue=ExtractionQueue(async_memory),
        actions=MemoryActions(memory),
        api=MemoryApi(async_memory, TokenStore(database), AccessLog(database), RateLimit(api_settings.rate_per_minute)),
        api_settings=api_settings,
        mode=mode_line(memory),
    )
