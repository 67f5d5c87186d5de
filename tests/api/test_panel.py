"""The panel's "Connect an app" through the chat's handlers (tests/test_handlers.py's recording
page): tokens made and revoked for the logged-in user only, and the panel's props carrying the
tokens and which app last read each memory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.harness.stub_openai import StubOpenAI
from chatapp import handlers
from chatapp.api.sources import app_source
from chatapp.runtime import Services, start
from chatapp.settings import AppSettings
from tests.test_handlers import RecordingPage


@pytest.fixture
def services(tmp_path: Path, stub: StubOpenAI) -> Iterator[Services]:
    env = {"OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "sk-stub", "MEMORY_EXTRACTOR": "heuristic"}
    app = start(AppSettings.from_env({"APP_DATA_DIR": str(tmp_path / "data")}), env)
    yield app
    app.close()


def _act(page: RecordingPage, services: Services, payload: Any) -> dict[str, Any]:
    return asyncio.run(handlers.app_token_action(page, services, payload))


def test_tokens_are_made_and_revoked_for_the_logged_in_user_only(services: Services) -> None:
    ann, eve = RecordingPage("ann"), RecordingPage("eve")
    made = _act(ann, services, {"op": "create", "name": "laptop", "user_id": "eve"})  # the payload's user is ignored
    assert made["ok"] and made["token"].startswith("mcm_") and made["message"] == "Token 'laptop' made."
    assert [t["name"] for t in made["tokens"]] == ["laptop"] and "token" not in made["tokens"][0]
    caller = services.api.tokens.verify(made["token"])
    assert caller is not None and caller.user_id == "ann"
    assert not ann.panels, "the panel is not redrawn: the token is shown once, in the element"

    refused = _act(eve, services, {"op": "revoke", "id": made["created"]["id"]})
    assert refused == {"ok": False, "message": "That token is not yours or was revoked already."}
    assert services.api.tokens.verify(made["token"]) is not None

    taken = _act(ann, services, {"op": "create", "name": "Laptop"})
    assert not taken["ok"] and taken["message"].startswith("You already have a token named 'Laptop'")
    assert _act(ann, services, {"op": "create", "name": ""})["message"].endswith("no token was made.")
    assert _act(ann, services, {"op": "explode"}) == {"ok": False, "message": "Unknown action 'explode'."}
    assert _act(ann, services, None) == {"ok": False, "message": "Unknown action None."}

    revoked = _act(ann, services, {"op": "revoke", "id": made["created"]["id"]})
    assert revoked["ok"] and revoked["tokens"] == [] and "refused from now on" in revoked["message"]
    assert services.api.tokens.verify(made["token"]) is None


def test_the_panel_shows_the_tokens_and_which_app_last_read_each_memory(services: Services) -> None:
    page = RecordingPage("ann")
    kept = services.memory.add("Likes jazz", user_id="ann", infer=False)["results"][0]["id"]
    other = services.memory.add("Likes rock", user_id="ann", infer=False)["results"][0]["id"]
    _act(page, services, {"op": "create", "name": "laptop"})
    services.api.access.record("ann", [kept], app_source("Claude Desktop", "laptop"))
    services.api.access.record("bob", [other], app_source("Cursor", "bob's"))  # another user's log

    asyncio.run(handlers.refresh_panel(page, services))
    props = page.panels[-1]
    assert [t["name"] for t in props["apps"]["tokens"]] == ["laptop"]
    assert props["apps"]["mcp_path"] == "/memory/mcp" and props["apps"]["api_path"] == "/api/v1"
    reads = {m["id"]: m["last_read"] for m in props["memories"]}
    assert reads[kept]["by"] == "Claude Desktop (token 'laptop')" and reads[kept]["reads"] == 1
    assert reads[other] is None
