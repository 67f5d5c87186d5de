"""The REST API under /api/v1: a FastAPI app of its own (so its OpenAPI document lists only these
routes), with the library's JSON shapes, a bearer token per user, and errors as JSON (errors.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.types import ASGIApp

from chatapp.api.errors import error_response
from chatapp.api.limits import LimitedBody
from chatapp.api.service import ApiError, MemoryApi
from chatapp.api.tokens import Caller
from chatapp.transfer import TransferError
from memory import (
    AddResult,
    GetAllResults,
    HistoryEntry,
    MemoryItem,
    MemoryLayerError,
    MessageResult,
    SearchResults,
)

__all__ = ["API_PREFIX", "build_rest_app"]

API_PREFIX = "/api/v1"
DOCS_PAGE = Path(__file__).resolve().parents[2] / "public" / "api-docs.html"

DESCRIPTION = """Your memories from any app or script: the same memories as the chat and its Memories
panel, with the JSON shapes of the memory library (`Memory.add`, `get_all`, `search`, `history`, ...).

Every request carries a token of yours: `Authorization: Bearer mcm_...` (make one in the Memories
panel, under **Connect an app**). A token reaches only its user's memories. Each change is recorded
in the memory's history as made by the REST API with that token, and each read in the access log.

Errors are JSON, `{"error": "...", "status": 404, "type": "MemoryNotFoundError"}`: 400 bad input,
401 no or bad token, 404 not yours or not found, 413 too large, 429 too fast, 503 storage or model
unreachable."""


class Message(BaseModel):
    role: str = Field(default="user", examples=["user"])
    content: str


class AddRequest(BaseModel):
    messages: str | list[Message] = Field(examples=["I moved to Porto last month."])
    infer: bool = Field(
        default=True,
        description="Extract facts (and update or delete what they contradict); false stores the text as it is",
    )
    metadata: dict[str, Any] | None = None


class UpdateRequest(BaseModel):
    data: str = Field(description="The memory's new text", examples=["Lives in Porto"])
    metadata: dict[str, Any] | None = Field(default=None, description="Replaces the metadata; kept when absent")


class SearchRequest(BaseModel):
    query: str = Field(examples=["Where does the user live?"])
    limit: int = Field(default=10, ge=1, le=100)


_bearer = HTTPBearer(auto_error=False, description="A token made in the Memories panel (Connect an app)")


async def _caller(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    api: MemoryApi = request.app.state.api
    return await api.authenticate(request.headers.get("authorization"))


Who = Annotated[Caller, Depends(_caller)]


class SourcedHistoryEntry(HistoryEntry):
    source: str  # who made the change: chat, panel, import, undo, or app:{"app": ..., "token": ...}


class ImportResult(BaseModel):
    imported: int
    skipped: int
    ids: list[str]
    message: str


ERRORS = {
    "400": "Bad input: the library's message says what to send instead",
    "401": "No token, or an unknown or revoked one",
    "404": "No such memory for this token's user",
    "413": "The body is over API_MAX_BODY_BYTES",
    "429": "Over API_RATE_LIMIT requests a minute with this token (see Retry-After)",
    "503": "Milvus, a database or the model cannot be reached: try again later",
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}, "type": {"type": "string"}},
    "required": ["error", "status", "type"],
}


def _documented_errors(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the errors this API answers (FastAPI lists a 422 it never sends)."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
            operation["responses"].update({code: {"description": text, **error} for code, text in ERRORS.items()})
    document["components"]["schemas"].pop("HTTPValidationError", None)
    document["components"]["schemas"].pop("ValidationError", None)
    return document


def _problems(exc: RequestValidationError) -> str:
    """What is wrong with a request, in a line: "the body is not JSON", "body.data: Field required"."""
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"])
        if error["type"] == "json_invalid":
            problems.append(f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'unreadable')})")
        elif error["loc"] == ("body",) and error["type"] in ("model_attributes_type", "dict_type"):
            problems.append("the body must be a JSON object with the fields this route documents (see /api/v1/docs)")
        else:
            problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def build_rest_app(api: MemoryApi, max_body_bytes: int) -> ASGIApp:
    rest = FastAPI(
        title="Memory chat API",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        servers=[{"url": API_PREFIX}],
    )
    rest.state.api = api
    plain_openapi = rest.openapi

    def openapi() -> dict[str, Any]:
        if rest.openapi_schema is None:
            rest.openapi_schema = _documented_errors(plain_openapi())
        return rest.openapi_schema

    rest.openapi = openapi  # type: ignore[method-assign]

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        return error_response(exc)

    for kind in (ApiError, MemoryLayerError, TransferError):
        rest.add_exception_handler(kind, refused)

    @rest.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _problems(exc), "status": 400, "type": "InvalidInputError"}, 400)

    @rest.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(DOCS_PAGE, media_type="text/html")

    @rest.get("/memories", summary="List your memories", tags=["memories"])
    async def list_memories(
        who: Who,
        category: Annotated[
            str | None, Query(description="Only this category, as the panel shows it: Work, Food & drink, ...")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=16_384)] = 100,
    ) -> GetAllResults:
        """Oldest first, as `Memory.get_all` returns them."""
        return await api.list_memories(who, "rest", category, limit)

    @rest.post("/memories", summary="Add memories", tags=["memories"])
    async def add_memories(who: Who, body: AddRequest) -> AddResult:
        """What `Memory.add` returns: each operation applied (ADD, UPDATE with `previous_memory`, DELETE)."""
        messages: str | list[dict[str, Any]] = (
            body.messages if isinstance(body.messages, str) else [m.model_dump() for m in body.messages]
        )
        return await api.add(who, "rest", messages, infer=body.infer, metadata=body.metadata)

    @rest.get("/memories/{memory_id}", summary="Get one memory", tags=["memories"])
    async def get_memory(who: Who, memory_id: str) -> MemoryItem:
        return await api.get(who, "rest", memory_id)

    @rest.put("/memories/{memory_id}", summary="Change a memory's text", tags=["memories"])
    async def update_memory(who: Who, memory_id: str, body: UpdateRequest) -> MessageResult:
        return await api.update(who, "rest", memory_id, body.data, body.metadata)

    @rest.delete("/memories/{memory_id}", summary="Delete a memory", tags=["memories"])
    async def delete_memory(who: Who, memory_id: str) -> MessageResult:
        """It stays in the panel's "Recently deleted", with its history."""
        return await api.delete(who, "rest", memory_id)

    @rest.get("/memories/{memory_id}/history", summary="A memory's history", tags=["memories"])
    async def memory_history(who: Who, memory_id: str) -> list[SourcedHistoryEntry]:
        """Oldest first, each change with its `source`: chat, panel, import, or an app and its token."""
        return await api.history(who, "rest", memory_id)  # type: ignore[return-value]

    @rest.post("/search", summary="Search your memories", tags=["search"])
    async def search(who: Who, body: SearchRequest) -> SearchResults:
        """Best first, by meaning and keywords, as `Memory.search` returns them (`score`: L2 distance,
        smaller is closer)."""
        return await api.search(who, "rest", body.query, body.limit)

    @rest.get("/search", summary="Search your memories (GET)", tags=["search"])
    async def search_get(
        who: Who, query: Annotated[str, Query(min_length=1)], limit: Annotated[int, Query(ge=1, le=100)] = 10
    ) -> SearchResults:
        return await api.search(who, "rest", query, limit)

    @rest.get("/export", summary="Export everything", tags=["transfer"])
    async def export(who: Who) -> dict[str, Any]:
        """`{"user_id", "memories": [item + "history"]}`: the file the panel's Export gives."""
        return await api.export(who, "rest")

    @rest.post(
        "/import",
        summary="Import memories",
        tags=["transfer"],
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}},
    )
    async def import_memories(who: Who, request: Request) -> ImportResult:
        """An export file (ours), or a JSON list of texts: each text you do not hold yet is added as it is."""
        document = await request.body()
        return ImportResult(**await api.import_(who, "rest", document))

    return LimitedBody(rest, max_body_bytes)
