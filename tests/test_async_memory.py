"""AsyncMemory: the tutorial runs through it as through Memory, with the same results; its model
requests go through the OpenAI SDK's async client; it never holds the event loop; it cannot drift
from Memory, since each coroutine is made from Memory's method."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.harness.stub_openai import StubOpenAI
from memory import AsyncMemory, InvalidInputError, Memory, MemoryNotFoundError

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "tests" / "tutorial_script.py"
TUTORIAL_FACTS = (
    {"operations": [{"event": "ADD", "id": None, "text": "Working on improving tennis skills"}]},
    {"operations": [{"event": "ADD", "id": None, "text": "Has a linear algebra midterm exam on November 20"}]},
)


def _as_async_program(source: str) -> str:
    """The tutorial with `AsyncMemory` for `Memory`: its statements in an `async def main()`, every
    call of a method of `m` awaited, and `m` closed at the end."""
    module = ast.parse(source)

    class AwaitMemoryCalls(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "m":
                return ast.Await(value=node)
            return node

    body: list[ast.stmt] = []
    for statement in module.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "memory":
            statement.names = [ast.alias(name="AsyncMemory", asname="Memory")]
        body.append(AwaitMemoryCalls().visit(statement))
    # From `m = Memory.from_config(config)` on, the statements run in main(); the setup stays above.
    first = next(i for i, s in enumerate(body) if "Memory.from_config" in ast.unparse(s))
    setup, rest = body[:first], body[first:]
    rest.append(ast.parse("await m.close()").body[0])
    main = ast.parse("async def main():\n    pass").body[0]
    assert isinstance(main, ast.AsyncFunctionDef)
    main.body = rest
    module.body = [*setup, main]
    return ast.unparse(ast.fix_missing_locations(module))


def _run_script(code: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any]]:
    monkeypatch.chdir(folder)
    namespace: dict[str, Any] = {"__name__": "tutorial"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(TUTORIAL), "exec"), namespace)
        if "main" in namespace:
            asyncio.run(namespace["main"]())
    return out.getvalue(), namespace


def _normalized(printed: str) -> str:
    """The printed output with what differs between two runs (ids, times) replaced."""
    printed = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", printed)
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d", "<time>", printed)


def test_the_tutorial_gives_the_same_results_through_asyncmemory(
    stub: StubOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = TUTORIAL.read_text(encoding="utf-8")
    (tmp_path / "sync").mkdir()
    (tmp_path / "async").mkdir()
    stub.script(*TUTORIAL_FACTS)
    printed_sync, namespace = _run_script(source, tmp_path / "sync", monkeypatch)
    namespace["m"].close()
    sync_requests = list(stub.requests)
    stub.reset()
    stub.script(*TUTORIAL_FACTS)
    printed_async, _ = _run_script(_as_async_program(source), tmp_path / "async", monkeypatch)

    assert "'event': 'ADD'" in printed_sync and "'score'" in printed_sync
    assert _normalized(printed_async) == _normalized(printed_sync)  # scores included: the same embeddings
    assert (tmp_path / "async" / "milvus.db").exists()
    assert [r.path for r in stub.requests] == [r.path for r in sync_requests], "the same model requests"


def test_model_requests_go_through_the_sdks_async_client(stub: StubOpenAI, make_memory: Callable[..., Memory]) -> None:
    m = AsyncMemory(memory=make_memory())

    async def scenario() -> None:
        stub.script({"operations": [{"event": "ADD", "id": None, "text": "Likes green tea"}]})
        await m.add("I like green tea", user_id="ann")
        await m.search("tea", user_id="ann")

    asyncio.run(scenario())
    kinds = {r.headers.get("x-stainless-async") for r in stub.requests}
    assert kinds == {"async:asyncio"}, kinds
    assert {r.path.rsplit("/", 1)[-1] for r in stub.requests} == {"completions", "embeddings"}

    stub.reset()
    m.sync.search("tea", user_id="ann")  # the same object's sync face uses the sync client
    assert {r.headers.get("x-stainless-async") for r in stub.requests} == {"false"}


def test_a_slow_model_does_not_hold_the_event_loop(stub: StubOpenAI, make_memory: Callable[..., Memory]) -> None:
    """Four adds wait for the model together, and the loop keeps running meanwhile: the stub holds
    each extraction request until all four have arrived and the loop has ticked ten more times
    (a serial or loop-blocking AsyncMemory would leave it waiting, and the adds would fail)."""
    m = AsyncMemory(memory=make_memory())
    arrived = threading.Barrier(4, timeout=20)
    ticks = [0]

    def reply_when_all_are_waiting(body: dict[str, Any]) -> Any:
        arrived.wait()
        seen = ticks[0]
        deadline = time.monotonic() + 20
        while ticks[0] < seen + 10 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert ticks[0] >= seen + 10, "the event loop stood still while the model was asked"
        return {"operations": [{"event": "ADD", "id": None, "text": "Owns a cat"}]}

    stub.json_reply = reply_when_all_are_waiting

    async def scenario() -> list[Any]:
        stop = asyncio.Event()

        async def heartbeat() -> None:
            while not stop.is_set():
                ticks[0] += 1
                await asyncio.sleep(0.001)

        beat = asyncio.create_task(heartbeat())
        results = await asyncio.gather(*(m.add(f"I own a cat number {n}", user_id=f"u{n}") for n in range(4)))
        stop.set()
        await beat
        return results

    results = asyncio.run(scenario())
    assert [[r["memory"] for r in result["results"]] for result in results] == [["Owns a cat"]] * 4
    assert not arrived.broken


def test_every_method_of_memory_has_its_coroutine_with_the_same_signature() -> None:
    not_calls = {"close", "from_config"}  # AsyncMemory has its own (a coroutine, a classmethod)
    public = {name for name, value in vars(Memory).items() if callable(value) and not name.startswith("_")}
    for name in sorted(public - not_calls):
        coroutine = getattr(AsyncMemory, name, None)
        assert coroutine is not None and inspect.iscoroutinefunction(coroutine), f"AsyncMemory lacks {name}"
        assert inspect.signature(coroutine) == inspect.signature(getattr(Memory, name)), name
        assert coroutine.__doc__ == getattr(Memory, name).__doc__


def test_errors_and_filters_come_through_unchanged(stub: StubOpenAI, make_memory: Callable[..., Memory]) -> None:
    m = AsyncMemory(memory=make_memory())

    async def scenario() -> None:
        await m.add("Likes hiking", user_id="ann", infer=False)
        await m.add("Likes hiking too", user_id="bob", infer=False)
        found = await m.search("hiking", filters={"user_id": "ann"})
        assert [r["memory"] for r in found["results"]] == ["Likes hiking"]  # Mem0's async copy lost filters=
        with pytest.raises(InvalidInputError, match="one of user_id"):
            await m.search("hiking")
        with pytest.raises(MemoryNotFoundError):
            await m.update("00000000-0000-4000-8000-000000000000", "x", user_id="ann")

    asyncio.run(scenario())
