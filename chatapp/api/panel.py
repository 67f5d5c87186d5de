"""The panel's side of other apps: "Connect an app" (make, list and revoke tokens) and, on each
memory, which app read it last. Checked on the server against the logged-in user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatapp.api.mcp_server import MCP_PATH
from chatapp.api.rest import API_PREFIX
from chatapp.api.service import MemoryApi
from chatapp.api.tokens import TokenError

__all__ = ["add_app_props", "token_action"]


def add_app_props(props: dict[str, Any], api: MemoryApi, user_id: str) -> dict[str, Any]:
    """The panel's props with each memory's last reader (`last_read`) and the user's tokens (`apps`,
    for public/elements/ConnectApps.jsx)."""
    reads = api.access.last_reads(user_id)
    for item in props.get("memories", []):
        item["last_read"] = reads.get(item["id"])
    props["apps"] = {"tokens": api.tokens.list(user_id), "mcp_path": MCP_PATH, "api_path": API_PREFIX}
    return props


def token_action(api: MemoryApi, user_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """create {name} -> the token, shown once; revoke {id}. Each answer lists the user's tokens."""
    op = payload.get("op")
    answer: dict[str, Any]
    if op == "create":
        try:
            listing, secret = api.tokens.create(user_id, str(payload.get("name") or ""))
        except TokenError as exc:
            return {"ok": False, "message": f"{str(exc)[0].upper()}{str(exc)[1:]}; no token was made."}
        answer = {"ok": True, "token": secret, "created": listing, "message": f"Token '{listing['name']}' made."}
    elif op == "revoke":
        name = api.tokens.revoke(user_id, str(payload.get("id")))
        if name is None:
            return {"ok": False, "message": "That token is not yours or was revoked already."}
        answer = {"ok": True, "message": f"Token '{name}' revoked: apps using it are refused from now on."}
    else:
        return {"ok": False, "message": f"Unknown action {op!r}."}
    return {**answer, "tokens": api.tokens.list(user_id)}
