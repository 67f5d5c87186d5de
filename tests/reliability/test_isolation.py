"""Isolation: hostile user ids, and every library call and sidebar action aimed at another user's memory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from chatapp.sidebar import NOT_YOURS, MemoryActions
from memory import InvalidInputError, Memory, MemoryNotFoundError
from tests.reliability.checks import Snapshot, assert_consistent

USERS = [
    "alice",
    'x" or user_id != "',
    "x' or user_id != '",
    'quote"inside',
    "back\\slash\\",
    "new\nline\rand\ttab",
    "日本語のユーザー",
    "u" * 10_000,
]


@pytest.fixture
def seeded(make_memory: Callable[..., Memory]) -> tuple[Memory, dict[str, list[str]]]:
    """Every user with two memories, one of them edited once (so it has a history to restore)."""
    m = make_memory()
    owned: dict[str, list[str]] = {}
    for n, user in enumerate(USERS):
        first = m.add(f"secret {n}: the vault code is {1000 + n}", user_id=user, infer=False)["results"][0]["id"]
        second = m.add(f"secret {n}: likes the colour number {n}", user_id=user, infer=False)["results"][0]["id"]
        m.update(second, f"secret {n}: loves the colour number {n}")
        owned[user] = [first, second]
    return m, owned


def test_every_library_call_on_another_users_memory_is_refused(
    seeded: tuple[Memory, dict[str, list[str]]], tmp_path: Path
) -> None:
    m, owned = seeded
    before = {user: Snapshot.of(m, user) for user in USERS}
    attempts = 0
    for user in USERS:
        for victim in USERS:
            if victim == user:
                continue
            for memory_id in owned[victim]:
                assert m.get(memory_id, user_id=user) is None
                with pytest.raises(MemoryNotFoundError):
                    m.update(memory_id, "overwritten", user_id=user)
                with pytest.raises(MemoryNotFoundError):
                    m.delete(memory_id, user_id=user)
                with pytest.raises(MemoryNotFoundError):
                    m.history(memory_id, user_id=user)
                attempts += 4
        mine = set(owned[user])
        for query in ("vault code", "colour", 'x" or user_id != "', "secret"):
            assert {h["id"] for h in m.search(query, user_id=user, limit=100)["results"]} <= mine
            assert {h["id"] for h in m.search(query, filters={"user_id": user}, limit=100)["results"]} <= mine
        assert {i["id"] for i in m.get_all(user_id=user)["results"]} == mine
        assert {i["id"] for i in m.get_all(filters={"user_id": user})["results"]} == mine
        assert m.count(user_id=user) == 2
    assert attempts == len(USERS) * (len(USERS) - 1) * 2 * 4
    assert {user: Snapshot.of(m, user) for user in USERS} == before, "no cross-user write"
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def test_delete_all_of_a_hostile_id_touches_nobody_else(
    seeded: tuple[Memory, dict[str, list[str]]], tmp_path: Path
) -> None:
    m, _ = seeded
    others = {user: Snapshot.of(m, user) for user in USERS if user != 'x" or user_id != "'}
    m.delete_all(user_id='x" or user_id != "')
    assert m.get_all(user_id='x" or user_id != "')["results"] == []
    assert {user: Snapshot.of(m, user) for user in others} == others
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def test_every_sidebar_action_on_another_users_memory_is_refused(
    seeded: tuple[Memory, dict[str, list[str]]], tmp_path: Path
) -> None:
    """The app's action handler: the user comes from the session, the payload only names ids."""
    m, owned = seeded
    actions = MemoryActions(m)
    before = {user: Snapshot.of(m, user) for user in USERS}
    for user in USERS:
        for victim in USERS:
            if victim == user:
                continue
            target = owned[victim][1]
            victim_version = m.history(target, user_id=victim)[0]["id"]
            own_memory = owned[user][1]
            for payload in (
                {"op": "edit", "id": target, "text": "overwritten"},
                {"op": "delete", "id": target},
                {"op": "restore", "id": target, "history_id": victim_version},
                {"op": "restore", "id": own_memory, "history_id": victim_version},  # my memory, their version
            ):
                result = actions.handle(user, payload)
                assert result["ok"] is False, (user[:20], payload)
                assert result["message"] in (NOT_YOURS, "That version does not exist; nothing was changed.")
        exported = actions.handle(user, {"op": "export"})
        assert exported["ok"] and {i["id"] for i in json.loads(exported["json"])["memories"]} == set(owned[user])
    assert {user: Snapshot.of(m, user) for user in USERS} == before, "no cross-user write"
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


@pytest.mark.parametrize(
    "memory_id",
    ['x" or id != "', "../../etc/passwd", "", "00000000-0000-0000-0000-00000000000G", "a" * 5000, 42, None],
)
def test_a_malformed_id_is_a_clear_error_and_changes_nothing(
    seeded: tuple[Memory, dict[str, list[str]]], memory_id: object
) -> None:
    m, _ = seeded
    before = {user: Snapshot.of(m, user) for user in USERS}
    for call in (
        lambda: m.get(memory_id),  # type: ignore[arg-type]
        lambda: m.update(memory_id, "x", user_id="alice"),  # type: ignore[arg-type]
        lambda: m.delete(memory_id, user_id="alice"),  # type: ignore[arg-type]
        lambda: m.history(memory_id, user_id="alice"),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidInputError, match="is not a memory id"):
            call()
    assert MemoryActions(m).handle("alice", {"op": "delete", "id": memory_id}) == {"ok": False, "message": NOT_YOURS}
    assert {user: Snapshot.of(m, user) for user in USERS} == before
