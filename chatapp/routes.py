"""The app's own HTTP routes, mounted into Chainlit's FastAPI app ahead of its catch-all page route."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse

from chatapp.element_storage import FILES_ROUTE, LocalStorageClient

__all__ = ["add_file_route"]


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
