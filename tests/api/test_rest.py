"""The REST API through httpx: every route with the library's shapes, each user's memories only,
JSON errors with fitting statuses, the source of every change and the access log, the OpenAPI page."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from chatapp.api.settings import ApiSettings
from tests.api.conftest import Stack
from tests.shapes import assert_add_result, assert_history, assert_item

MISSING_ID = "00000000-0000-4000-8000-000000000000"


def test_every_route_answers_with_the_librarys_shapes(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    token = stack.token("alice", "scripts")

    async def scenario() -> None:
        async with stack.http(token) as http:
            added = (await http.post("/api/v1/memories", json={"messages": "I live in Lisbon. I love tennis."})).json()
            assert_add_result(added, ["ADD", "ADD"])
            assert sorted(r["memory"] for r in added["results"]) == ["Lives in Lisbon", "Loves tennis"]
            raw = await http.post(
                "/api/v1/memories",
                json={"messages": [{"role": "user", "content": "Prefers tea"}], "infer": False, "metadata": {"k": 1}},
            )
            assert [r["memory"] for r in raw.json()["results"]] == ["Prefers tea"]
            listed = (await http.get("/api/v1/memories")).json()
            assert list(listed) == ["results"] and len(listed["results"]) == 3
            for item in listed["results"]:
                assert_item(item)
            tennis = next(i for i in listed["results"] if i["memory"] == "Loves tennis")
            assert (await http.get(f"/api/v1/memories/{tennis['id']}")).json() == tennis
            food = (await http.get("/api/v1/memories", params={"category": "food & drink"})).json()["results"]
            assert [i["memory"] for i in food] == ["Prefers tea"]

            found = (await http.post("/api/v1/search", json={"query": "tennis", "limit": 2})).json()
            assert found["results"][0]["memory"] == "Loves tennis" and len(found["results"]) == 2
            for hit in found["results"]:
                assert_item(hit, search=True)
            again = (await http.get("/api/v1/search", params={"query": "tennis", "limit": 2})).json()
            assert [h["id"] for h in again["results"]] == [h["id"] for h in found["results"]]

            updated = await http.put(f"/api/v1/memories/{tennis['id']}", json={"data": "Loves tennis and padel"})
            assert updated.json() == {"message": "Memory updated successfully!"}
            history = (await http.get(f"/api/v1/memories/{tennis['id']}/history")).json()
            assert_history([{k: v for k, v in h.items() if k != "source"} for h in history], ["ADD", "UPDATE"])
            assert {h["source"] for h in history} == {'app:{"app": "the REST API", "token": "scripts"}'}

            assert (await http.delete(f"/api/v1/memories/{tennis['id']}")).json() == {
                "message": "Memory deleted successfully!"
            }
            exported = (await http.get("/api/v1/export")).json()
            assert exported["user_id"] == "alice" and len(exported["memories"]) == 2
            assert all(m["history"] and m["history"][0]["event"] == "ADD" for m in exported["memories"])

            document = json.dumps({"memories": [*exported["memories"], {"memory": "Speaks Portuguese"}, "  "]})
            imported = (await http.post("/api/v1/import", content=document)).json()
            assert (imported["imported"], imported["skipped"], len(imported["ids"])) == (1, 3, 1)
            texts = {i["memory"] for i in (await http.get("/api/v1/memories")).json()["results"]}
            assert texts == {"Lives in Lisbon", "Prefers tea", "Speaks Portuguese"}

    asyncio.run(scenario())
    reads = stack.api.access.last_reads("alice")
    assert reads[next(iter(reads))]["by"] == "the REST API (token 'scripts')"


def test_a_token_reaches_only_its_users_memories(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    alice_id = stack.memory.add("Has a secret garden", user_id="alice", infer=False)["results"][0]["id"]
    bob = stack.token("bob")

    async def scenario() -> None:
        async with stack.http(bob) as http:
            assert (await http.get("/api/v1/memories")).json() == {"results": []}
            assert (await http.post("/api/v1/search", json={"query": "secret garden"})).json() == {"results": []}
            assert (await http.get("/api/v1/export")).json() == {"user_id": "bob", "memories": []}
            for method, path, body in (
                ("GET", f"/api/v1/memories/{alice_id}", None),
                ("PUT", f"/api/v1/memories/{alice_id}", {"data": "Bob's now"}),
                ("DELETE", f"/api/v1/memories/{alice_id}", None),
                ("GET", f"/api/v1/memories/{alice_id}/history", None),
            ):
                answer = await http.request(method, path, json=body)
                assert answer.status_code == 404, (method, answer.text)
                assert (
                    answer.json()["type"] == "MemoryNotFoundError" and "for user 'bob'" in answer.json()["error"]
                ) or ("this token's user" in answer.json()["error"])

    asyncio.run(scenario())
    assert stack.memory.get(alice_id)["memory"] == "Has a secret garden"  # type: ignore[index]
    assert [h["event"] for h in stack.memory.history(alice_id)] == ["ADD"]


def test_errors_are_json_with_the_librarys_message_and_a_fitting_status(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(ApiSettings(rate_per_minute=40, max_body_bytes=10_000))
    token = stack.token("alice")

    async def expect(http: Any, status: int, method: str, path: str, fragment: str, **kwargs: Any) -> dict[str, Any]:
        answer = await http.request(method, path, **kwargs)
        assert answer.status_code == status, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/json")
        body: dict[str, Any] = answer.json()
        assert body["status"] == status and fragment in body["error"], body
        return body

    async def scenario() -> None:
        async with stack.http() as anonymous:
            await expect(anonymous, 401, "GET", "/api/v1/memories", "Authorization: Bearer mcm_")
            answer = await anonymous.get("/api/v1/memories", headers={"Authorization": "Bearer mcm_wrong"})
            assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
            assert "unknown or was revoked" in answer.json()["error"]
        async with stack.http(token) as http:
            await expect(http, 400, "POST", "/api/v1/memories", "there is nothing to remember", json={"messages": "  "})
            await expect(http, 400, "POST", "/api/v1/memories", "messages", json={"text": "wrong field"})
            await expect(http, 400, "POST", "/api/v1/search", "query must be a non-empty string", json={"query": " "})
            await expect(http, 400, "PUT", f"/api/v1/memories/{MISSING_ID}", "JSON object", content=b"{not json")
            await expect(
                http, 400, "PUT", f"/api/v1/memories/{MISSING_ID}", "not valid JSON", content=b"{not json",
                headers={"content-type": "application/json"},
            )  # fmt: skip
            await expect(http, 400, "PUT", f"/api/v1/memories/{MISSING_ID}", "body.data: Field required", json={})
            await expect(http, 400, "GET", "/api/v1/memories/x%22%20or%20user_id", "is not a memory id")
            await expect(http, 400, "POST", "/api/v1/import", "not JSON", content=b"not json")
            await expect(http, 404, "GET", f"/api/v1/memories/{MISSING_ID}", "no memory")
            await expect(http, 404, "DELETE", f"/api/v1/memories/{MISSING_ID}", "no memory")
            await expect(http, 413, "POST", "/api/v1/memories", "over 10,000 bytes", json={"messages": "x" * 20_000})
            assert (await http.get("/api/v1/memories")).json() == {"results": []}, "nothing was kept"
            statuses = [(await http.get("/api/v1/memories")).status_code for _ in range(40)]
            assert statuses.count(429) >= 1 and 200 in statuses
            limited = await http.get("/api/v1/memories")
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
            assert "requests a minute" in limited.json()["error"]
        async with stack.http(stack.token("alice", "other")) as other:
            assert (await other.get("/api/v1/memories")).status_code == 200, "the limit is per token"

    asyncio.run(scenario())


def test_a_revoked_token_fails_at_its_next_request(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    listing, token = stack.api.tokens.create("alice", "laptop")

    async def scenario() -> None:
        async with stack.http(token) as http:
            assert (await http.get("/api/v1/memories")).status_code == 200
            stack.api.tokens.revoke("alice", listing["id"])
            answer = await http.get("/api/v1/memories")
            assert answer.status_code == 401 and "revoked" in answer.json()["error"]

    asyncio.run(scenario())


def test_the_openapi_document_and_page(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()

    async def scenario() -> None:
        async with stack.http() as http:
            spec = (await http.get("/api/v1/openapi.json")).json()
            page = await http.get("/api/v1/docs")
        assert set(spec["paths"]) == {
            "/memories",
            "/memories/{memory_id}",
            "/memories/{memory_id}/history",
            "/search",
            "/export",
            "/import",
        }
        assert spec["servers"] == [{"url": "/api/v1"}]
        assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        assert set(spec["paths"]["/memories/{memory_id}"]) == {"get", "put", "delete"}
        responses = spec["paths"]["/search"]["post"]["responses"]
        assert set(responses) == {"200", "400", "401", "404", "413", "429", "503"}, "no 422: bad input is a 400"
        assert responses["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "SearchResult" in json.dumps(spec["components"]["schemas"])  # the library's own TypedDicts
        assert page.status_code == 200 and "openapi.json" in page.text and "https://" not in page.text

    asyncio.run(scenario())


def test_an_error_of_the_store_is_not_a_silent_empty_answer(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    token = stack.token("alice")
    stack.memory.close()  # the store is gone: every call fails

    async def scenario() -> None:
        async with stack.http(token) as http:
            answer = await http.post("/api/v1/search", json={"query": "anything"})
            assert answer.status_code == 503, answer.text
            assert answer.json()["type"] == "StoreError"

    asyncio.run(scenario())
