"""Who read or changed a memory through the API, in the words the panel shows: a change made with a
token is recorded in the history as `app:{"app": "Claude Desktop", "token": "laptop"}` and shown as
"from Claude Desktop (token 'laptop')"; the access log names its readers the same way."""

from __future__ import annotations

import json
import re

__all__ = ["REST_CLIENT", "app_name", "app_source", "app_source_label", "client_label"]

APP_SOURCE_PREFIX = "app:"
REST_CLIENT = "the REST API"
UNKNOWN_CLIENT = "an app"
# What MCP clients call themselves in their `initialize` request, and the names people know.
KNOWN_CLIENTS = {
    "claude-ai": "Claude Desktop",
    "claude-desktop": "Claude Desktop",
    "claude-code": "Claude Code",
    "cursor-vscode": "Cursor",
    "cursor": "Cursor",
    "visual studio code": "VS Code",
    "visual-studio-code": "VS Code",
    "vscode": "VS Code",
    "mcp": "an MCP client",  # the Python SDK's default name
}
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
MAX_CLIENT_CHARS = 60


def client_label(declared: object) -> str:
    """The app's name for people, from what an MCP client declared (its `clientInfo.name`)."""
    name = _UNPRINTABLE.sub("", declared if isinstance(declared, str) else "").strip()
    if not name:
        return UNKNOWN_CLIENT
    return KNOWN_CLIENTS.get(name.lower(), name[:MAX_CLIENT_CHARS])


def app_source(client: str, token_name: str) -> str:
    """The history's `source` of a change made by `client` with the token named `token_name`."""
    return APP_SOURCE_PREFIX + json.dumps({"app": client, "token": token_name}, ensure_ascii=False)


def app_name(source: str) -> str | None:
    """ "Claude Desktop (token 'laptop')" for an app source; None for any other source."""
    if not source.startswith(APP_SOURCE_PREFIX):
        return None
    try:
        parsed = json.loads(source[len(APP_SOURCE_PREFIX) :])
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    return f"{parsed.get('app') or UNKNOWN_CLIENT} (token '{parsed.get('token') or '?'}')"


def app_source_label(source: str) -> str | None:
    """ "from Claude Desktop (token 'laptop')", as the history shows a change; None for other sources."""
    name = app_name(source)
    return f"from {name}" if name else None
