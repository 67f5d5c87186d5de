"""The app's own HTTP routes, mounted into Chainlit's FastAPI app ahead of its catch-all page route."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, RedirectResponse
from starlette.routing import Mount, Route

from chatapp.api.mcp_server import MCP_PATH, McpEndpoint, build_mcp
from chatapp.api.rest import API_PREFIX, build_rest_app
from chatapp.element_storage import FILES_ROUTE, LocalStorageClient
from chatapp.runtime import Services

__all__ = ["add_api_routes", "add_file_route"]


def add_file_route(storage: LocalStorageClient) -> None:
    """GET /app-files/<object key>: an element's stored file, to its owner only."""
    from chainlit.auth import get_current_user
    from chainlit.server import app

    router = APIRouter()

    @router.get(FILES_ROUTE + "/{object_key:path}")
    async def read_element_file(object_key: str, user: Annotated[Any, Depends(get_current_user)]) -> FileResponse:
        owner = getattr(user, "id", None)
        if not owner or not object_key.startswith(f"{owner}/"):
            raise HTTPException(status_code=404, detail="Not found")
        try:
            path = storage.path_for(object_key)
        except ValueError:
            raise HTTPException(status_code=404, detail="Not found") from None
        if not path.is_file():
            raise HTTPException(status_code=404, detail="Not found")
        return FileResponse(path)

    # Chainlit's "/{full_path:path}" serves the page for any GET it does not know: go before it.
    app.router.routes[0:0] = router.routes


def add_api_routes(services: Services) -> None:
    """The REST API at /api/v1 (its page at /api/v1/docs) and the MCP server at /memory/mcp, in this
    process and port (Chainlit owns POST /mcp for its own MCP client). The MCP session manager runs
    for the server's lifetime, inside Chainlit's lifespan."""
    from chainlit.server import app

    _, manager = build_mcp(services.api, services.api_settings)
    limit = services.api_settings.max_body_bytes

    async def to_docs(request: Any) -> RedirectResponse:
        return RedirectResponse(API_PREFIX + "/docs")

    app.router.routes[0:0] = [
        Route(MCP_PATH, endpoint=McpEndpoint(services.api, manager, limit)),
        Route(API_PREFIX, endpoint=to_docs, methods=["GET"]),
        Mount(API_PREFIX, app=build_rest_app(services.api, limit)),
    ]
    chainlit_lifespan: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(server: Any) -> AsyncIterator[Any]:
        async with manager.run(), chainlit_lifespan(server) as state:
            yield state

    app.router.lifespan_context = lifespan
