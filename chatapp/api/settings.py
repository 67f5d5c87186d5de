"""The API's settings, from the environment (see .env.example)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from memory import ConfigError

__all__ = ["ApiSettings"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class ApiSettings:
    # Host names the MCP endpoint answers to (the SDK's DNS-rebinding check: other Host headers get
    # 421). nginx passes the host without its port, so each name is allowed with and without one.
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    rate_per_minute: int = 600  # requests per token per minute, in each process
    max_body_bytes: int = 5_000_000  # the panel's import file limit too

    @property
    def host_patterns(self) -> list[str]:
        return [pattern for host in self.allowed_hosts for pattern in (host, f"{host}:*")]

    @property
    def origin_patterns(self) -> list[str]:
        return [f"{scheme}://{pattern}" for scheme in ("http", "https") for pattern in self.host_patterns]

    @classmethod
    def from_env(cls, env: Mapping[str, str], host: str = "127.0.0.1") -> ApiSettings:
        hosts = [h.strip() for h in (env.get("API_ALLOWED_HOSTS") or "").split(",") if h.strip()]
        if not hosts:
            hosts = [*LOCAL_HOSTS, *([host] if host not in ("0.0.0.0", "::", *LOCAL_HOSTS) else [])]
        try:
            rate = int(env.get("API_RATE_LIMIT") or cls.rate_per_minute)
            body = int(env.get("API_MAX_BODY_BYTES") or cls.max_body_bytes)
        except ValueError:
            raise ConfigError("API_RATE_LIMIT and API_MAX_BODY_BYTES are whole numbers") from None
        if rate < 1 or body < 1024:
            raise ConfigError("API_RATE_LIMIT is at least 1 and API_MAX_BODY_BYTES at least 1024")
        return cls(allowed_hosts=tuple(hosts), rate_per_minute=rate, max_body_bytes=body)
