"""The Milvus store on real milvus-lite: hostile ids, reopening, dimensions, the file lock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from memory import DimensionMismatchError, Memory, MemoryConfig, StoreError, StoreLockedError
from memory.store import GRPC_OPTIONS
from memory.store.filters import quote
from tests.processes import milvus_file_held

HOSTILE_IDS = [
    'x" or user_id != "',
    "x' or user_id != '",
    'quote"inside',
    "back\\slash",
    "trailing\\",
    "new\nline",
    "carriage\rreturn",
    "tab\there",
    "percent%41",
    "日本語のユーザー",
    "user_id",
    "a" * 10_000,
]

pytestmark = pytest.mark.own_milvus  # tests of the milvus-lite file and its collection


def test_quote_escapes_what_could_end_a_literal() -> None:
    assert quote('a"b') == '"a\\"b"'
    assert quote("a\\") == '"a\\\\"'
    assert quote('x" or user_id != "') == '"x\\" or user_id != \\""'


def test_hostile_user_ids_see_only_their_own_memories(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    owned = {}
    for index, user in enumerate([*HOSTILE_IDS, "alice"]):
        owned[user] = m.add(f"secret number {index}", user_id=user, infer=False)["results"][0]["id"]
    for user in [*HOSTILE_IDS, "alice"]:
        items = m.get_all(user_id=user)["results"]
        assert [i["id"] for i in items] == [owned[user]], repr(user[:40])
        assert items[0]["user_id"] == user
        hits = m.search("secret number", user_id=user, limit=50)["results"]
        assert [h["id"] for h in hits] == [owned[user]], repr(user[:40])
        other = next(u for u in owned if u != user)
        assert m.get(owned[other], user_id=user) is None
    m.delete_all(user_id='x" or user_id != "')
    assert m.get_all(user_id='x" or user_id != "')["results"] == []
    assert all(m.get_all(user_id=u)["results"] for u in owned if u != 'x" or user_id != "')


def test_reopening_loads_the_collection(make_memory: Callable[..., Memory], tmp_path: Path) -> None:
    first = make_memory()
    memory_id = first.add("Collects vinyl records", user_id="alice", infer=False)["results"][0]["id"]
    first.close()
    second = make_memory()
    assert second.get(memory_id)["memory"] == "Collects vinyl records"  # type: ignore[index]
    assert second.search("vinyl", user_id="alice")["results"][0]["id"] == memory_id
    assert [h["event"] for h in second.history(memory_id)] == ["ADD"]


def test_an_existing_collection_of_another_dimension_is_a_clear_error(make_memory: Callable[..., Memory]) -> None:
    make_memory().close()  # 1536 dims from the stub's text-embedding-3-small
    with pytest.raises(
        DimensionMismatchError, match=r"has dim 1536 but the embedder gives 64: use another collection_name"
    ):
        make_memory({"embedder": {"provider": "openai", "config": {"model": "stub-small", "dims": 64}}})


def test_a_collection_built_for_another_metric_is_a_clear_error(make_memory: Callable[..., Memory]) -> None:
    make_memory().close()
    with pytest.raises(StoreError, match="built for metric L2, not COSINE"):
        make_memory({"vector_store": {"config": {"metric_type": "COSINE"}}})


@pytest.mark.slow
def test_a_path_held_by_another_process_is_a_clear_error(tmp_path: Path, model_env: dict[str, str]) -> None:
    db = tmp_path / "held.db"
    with (
        milvus_file_held(db),
        pytest.raises(StoreLockedError, match=r"is open in another process .* use another path or a Milvus server URI"),
    ):
        Memory(MemoryConfig.from_dict({"vector_store": {"config": {"url": str(db)}}}))
    again = Memory(MemoryConfig.from_dict({"vector_store": {"config": {"url": str(db)}}}))
    again.close()


def test_two_memories_in_one_process_share_the_file(make_memory: Callable[..., Memory]) -> None:
    a = make_memory()
    b = make_memory()
    memory_id = a.add("Grows tomatoes", user_id="alice", infer=False)["results"][0]["id"]
    assert b.get(memory_id)["memory"] == "Grows tomatoes"  # type: ignore[index]


def test_server_uri_and_token_are_accepted_as_configuration() -> None:
    config = MemoryConfig.from_dict(
        {"vector_store": {"provider": "milvus", "config": {"url": "http://localhost:19530", "token": "root:Milvus"}}}
    )
    assert not config.vector_store.is_lite
    assert config.vector_store.token == "root:Milvus"
    assert config.history_path.endswith("memories.history.sqlite")


@pytest.mark.slow
def test_closing_frees_the_file_for_another_process(make_memory: Callable[..., Memory], tmp_path: Path) -> None:
    m = make_memory()
    m.add("Grows tomatoes", user_id="alice", infer=False)
    m.close()
    with milvus_file_held(tmp_path / "milvus.db"):  # fails if this process still held the file
        pass
    assert make_memory().get_all(user_id="alice")["results"][0]["memory"] == "Grows tomatoes"


def test_the_lite_client_pings_only_during_calls(make_memory: Callable[..., Memory]) -> None:
    """pymilvus pings every 10 s even when idle, and milvus-lite answers with GOAWAY "too_many_pings"
    (logged about 10 times in 40 minutes of the app). Measured with one idle client each for 14
    minutes: 1 GOAWAY within a minute with pymilvus's options, none with these."""
    m = make_memory()
    options = m._store._call.client._get_connection()._grpc_options
    assert options == GRPC_OPTIONS
    assert options["grpc.keepalive_permit_without_calls"] == 0
