"""The app's settings, from the environment (see .env.example)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory import ConfigError, MemoryConfig, is_postgres_url, libpq_url, milvus_uri_from_env, sqlalchemy_url

__all__ = ["AppSettings"]

OAUTH_PROVIDERS = (
    "GITHUB",
    "GOOGLE",
    "AZURE_AD",
    "OKTA",
    "AUTH0",
    "DESCOPE",
    "AWS_COGNITO",
    "GITLAB",
    "KEYCLOAK",
    "GENERIC",
)


class AppSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    auth_mode: Literal["open", "password"] = "open"
    data_dir: Path = Path("data")
    top_k: int = Field(default=5, ge=1, le=50)
    memory_token_budget: int = Field(default=800, ge=50)
    history_token_budget: int = Field(default=2500, ge=100)
    max_message_chars: int = Field(default=20_000, ge=100)
    oauth_providers: tuple[str, ...] = ()
    # DATABASE_URL: PostgreSQL for threads, logins, preferences and the memory history.
    external_database: str | None = None

    @property
    def secret_file(self) -> Path:
        return self.data_dir / "auth_secret"

    @property
    def database_file(self) -> Path:
        return self.data_dir / "chainlit.db"

    @property
    def app_database(self) -> str:
        """Where Chainlit's threads, logins and preferences live: PostgreSQL, or a SQLite file."""
        return self.external_database or str(self.database_file)

    @property
    def uses_postgres(self) -> bool:
        return is_postgres_url(self.external_database)

    @property
    def database_url(self) -> str:
        """Chainlit's data layer URL (SQLAlchemy, async driver)."""
        if self.external_database:
            return sqlalchemy_url(self.external_database)
        return f"sqlite+aiosqlite:///{self.database_file.resolve()}"

    @property
    def host_is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def memory_config(self, env: Mapping[str, str]) -> MemoryConfig:
        """The memory layer's settings, with the app's data kept in `data_dir`: the milvus-lite file
        unless a URI is given, and the history also when the URI names a server."""
        env = dict(env)
        if not milvus_uri_from_env(env):
            env["MEMORY_MILVUS_URI"] = str(self.data_dir / "milvus.db")
        config = MemoryConfig.from_env(env)
        if config.history_db_path:
            return config
        if self.uses_postgres and self.external_database:
            return config.model_copy(update={"history_db_path": libpq_url(self.external_database)})
        if not config.vector_store.is_lite:
            history = self.data_dir / f"{config.vector_store.collection_name}.history.sqlite"
            config = config.model_copy(update={"history_db_path": str(history)})
        return config

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AppSettings:
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "host": env.get("HOST") or "127.0.0.1",
            "port": env.get("PORT") or 8000,
            "auth_mode": (env.get("APP_AUTH_MODE") or "open").lower(),
            "data_dir": env.get("APP_DATA_DIR") or "data",
            "oauth_providers": tuple(p.lower() for p in OAUTH_PROVIDERS if env.get(f"OAUTH_{p}_CLIENT_ID")),
            "external_database": env.get("DATABASE_URL") or None,
        }
        for key, name in (
            ("top_k", "MEMORY_TOP_K"),
            ("memory_token_budget", "MEMORY_TOKEN_BUDGET"),
            ("history_token_budget", "APP_HISTORY_TOKEN_BUDGET"),
            ("max_message_chars", "APP_MAX_MESSAGE_CHARS"),
        ):
            if env.get(name):
                values[key] = env[name]
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid app settings: {details}") from None
        if settings.external_database and not settings.uses_postgres:
            raise ConfigError(
                f"DATABASE_URL must be a postgresql:// URL (got {settings.external_database.split('://')[0]}://…); "
                "leave it unset for the SQLite files in APP_DATA_DIR"
            )
        if settings.auth_mode == "open" and not settings.host_is_loopback and not settings.oauth_providers:
            raise ConfigError(
                f"open login (any name, no password) only binds to 127.0.0.1; HOST={settings.host} needs "
                "APP_AUTH_MODE=password or an OAuth provider"
            )
        return settings
