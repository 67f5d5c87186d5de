"""Chainlit's element storage on the local disk, so elements (the memory notices) are kept with
their thread. Chainlit ships only cloud storage clients (S3, GCS, Azure); without one its SQLAlchemy
data layer warns at start and drops every element."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from chainlit.data.storage_clients.base import BaseStorageClient

__all__ = ["FILES_ROUTE", "LocalStorageClient"]

FILES_ROUTE = "/app-files"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.:@-]+(?:/[A-Za-z0-9_. :@-]+)*$")


class LocalStorageClient(BaseStorageClient):
    """Files under `root`, named by Chainlit's object key `<user db id>/<element id>[/<name>]`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, object_key: str) -> Path:
        if not _SAFE_KEY.match(object_key) or ".." in object_key.split("/"):
            raise ValueError(f"unsafe object key {object_key!r}")
        path = (self.root / object_key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"unsafe object key {object_key!r}")
        return path

    async def upload_file(
        self,
        object_key: str,
        data: bytes | str,
        mime: str = "application/octet-stream",
        overwrite: bool = True,
        content_disposition: str | None = None,
    ) -> dict[str, Any]:
        path = self.path_for(object_key)
        if path.exists() and not overwrite:
            return {"object_key": object_key, "url": await self.get_read_url(object_key)}
        content = data.encode("utf-8") if isinstance(data, str) else data
        await asyncio.to_thread(_write, path, content)
        return {"object_key": object_key, "url": await self.get_read_url(object_key)}

    async def delete_file(self, object_key: str) -> bool:
        path = self.path_for(object_key)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    async def get_read_url(self, object_key: str) -> str:
        return f"{FILES_ROUTE}/{object_key}"

    async def close(self) -> None:
        return None


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    partial.replace(path)
