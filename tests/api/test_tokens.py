"""Tokens are shown once and kept only as a hash; each reaches its own user; a revoked one fails at
once; the access log and the sources say which app did what."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from chatapp.api.access import AccessLog
from chatapp.api.sources import app_source, app_source_label, client_label
from chatapp.api.tokens import MAX_TOKENS_PER_USER, TOKEN_PREFIX, TokenError, TokenStore
from chatapp.database import open_app_database
from chatapp.sidebar import _source_label
from memory import Database


@pytest.fixture
def database(tmp_path: Path) -> Database:
    return open_app_database(str(tmp_path / "app.db"))


def test_a_token_is_shown_once_and_stored_as_a_hash(database: Database, tmp_path: Path) -> None:
    tokens = TokenStore(database)
    listing, secret = tokens.create("alice", "laptop")
    assert secret.startswith(TOKEN_PREFIX) and len(secret) > 40
    assert listing["name"] == "laptop" and listing["hint"] == secret[-4:] and "token_hash" not in listing
    database.close()
    stored = (tmp_path / "app.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("app.db-*"))
    assert secret.encode() not in stored and secret[len(TOKEN_PREFIX) :].encode() not in stored
    reopened = open_app_database(str(tmp_path / "app.db"))
    caller = TokenStore(reopened).verify(secret)
    assert caller is not None and (caller.user_id, caller.token_name) == ("alice", "laptop")
    assert all(secret not in str(v) for t in TokenStore(reopened).list("alice") for v in t.values())


def test_each_token_is_its_users_and_a_revoked_one_fails_at_once(database: Database) -> None:
    tokens = TokenStore(database)
    alice, alice_secret = tokens.create("alice", "laptop")
    bob, bob_secret = tokens.create("bob", "laptop")  # the same name for another user is fine
    assert tokens.verify(bob_secret).user_id == "bob"  # type: ignore[union-attr]
    assert tokens.revoke("bob", alice["id"]) is None, "bob cannot revoke alice's token"
    assert tokens.verify(alice_secret) is not None
    assert tokens.revoke("alice", alice["id"]) == "laptop"
    assert tokens.verify(alice_secret) is None
    assert [t["name"] for t in tokens.list("alice")] == [] and [t["id"] for t in tokens.list("bob")] == [bob["id"]]
    for wrong in ("", "mcm_", "nope", alice_secret + "x", TOKEN_PREFIX + "a" * 500):
        assert tokens.verify(wrong) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "1 to 40"),
        ("x" * 41, "1 to 40"),
        ("it's", "without quotes"),
        ("a\\b", "without quotes"),
        ("\x00", "1 to 40"),
    ],
)
def test_bad_token_names_are_refused_with_a_reason(database: Database, name: str, problem: str) -> None:
    with pytest.raises(TokenError, match=problem):
        TokenStore(database).create("alice", name)
    assert TokenStore(database).list("alice") == []


def test_names_are_unique_per_user_and_tokens_are_limited(database: Database) -> None:
    tokens = TokenStore(database)
    tokens.create("alice", "Laptop")
    with pytest.raises(TokenError, match="already have a token named 'laptop'"):
        tokens.create("alice", "  laptop ")
    for n in range(MAX_TOKENS_PER_USER - 1):
        tokens.create("alice", f"t{n}")
    with pytest.raises(TokenError, match="revoke one first"):
        tokens.create("alice", "one more")
    assert len(tokens.list("alice")) == MAX_TOKENS_PER_USER


def test_last_use_is_written_at_most_once_a_minute_unless_the_app_changes(database: Database) -> None:
    tokens = TokenStore(database)
    _, secret = tokens.create("alice", "laptop")
    first = tokens.verify(secret)
    assert first is not None and first.last_used_at is None
    tokens.note_use(first, "Claude Desktop")
    used = tokens.verify(secret)
    assert used is not None and used.last_used_at is not None and used.last_client == "Claude Desktop"
    with database.write() as conn:  # any later write would change last_used_at
        conn.execute(sa.text("UPDATE api_tokens SET last_used_at = '2000-01-01T00:00:00+00:00'"))
    tokens.note_use(TokenStore(database).verify(secret))  # type: ignore[arg-type]
    assert tokens.list("alice")[0]["last_used_at"] != "2000-01-01T00:00:00+00:00", "an old last use is renewed"
    recent = tokens.verify(secret)
    assert recent is not None
    with database.write() as conn:
        conn.execute(sa.text("UPDATE api_tokens SET last_used_at = :now"), {"now": recent.last_used_at})
    tokens.note_use(recent)
    assert tokens.list("alice")[0]["last_used_at"] == recent.last_used_at, "a use within the minute writes nothing"
    tokens.note_use(recent, "Cursor")
    assert tokens.list("alice")[0]["last_client"] == "Cursor"


def test_the_access_log_keeps_the_last_reader_of_each_memory(database: Database) -> None:
    log = AccessLog(database)
    desktop, script = app_source("Claude Desktop", "laptop"), app_source("the REST API", "scripts")
    log.record("alice", ["m1", "m2", "m1"], desktop)
    log.record("alice", ["m2"], script)
    log.record("bob", ["m3"], desktop)
    reads = log.last_reads("alice")
    assert set(reads) == {"m1", "m2"}
    assert reads["m1"]["by"] == "Claude Desktop (token 'laptop')" and reads["m1"]["reads"] == 1
    assert reads["m2"]["by"] == "the REST API (token 'scripts')" and reads["m2"]["reads"] == 2
    log.record("alice", ["m1"], desktop)
    assert log.last_reads("alice")["m1"]["reads"] == 2
    assert set(log.last_reads("bob")) == {"m3"}


def test_sources_name_the_app_and_the_token() -> None:
    assert client_label("claude-ai") == "Claude Desktop"
    assert client_label("cursor-vscode") == "Cursor" and client_label("Visual Studio Code") == "VS Code"
    assert client_label("claude-code") == "Claude Code" and client_label("my-agent\n") == "my-agent"
    assert client_label(None) == client_label("") == "an app" and len(client_label("x" * 500)) == 60
    source = app_source("Claude Desktop", "laptop")
    assert app_source_label(source) == "from Claude Desktop (token 'laptop')"
    assert _source_label({"source": source}) == "from Claude Desktop (token 'laptop')"
    assert (
        _source_label({"source": "chat"}) == "from chat" and _source_label({"source": "panel"}) == "edited in the panel"
    )
    assert app_source_label("chat") is None and app_source_label("app:not json") is None
