"""Errors as the API answers them: JSON with the library's message and a fitting HTTP status."""

from __future__ import annotations

from starlette.responses import JSONResponse

from chatapp.api.service import ApiError
from chatapp.transfer import TransferError
from memory import (
    ConfigError,
    ExtractionError,
    InvalidInputError,
    MemoryLayerError,
    MemoryNotFoundError,
    ModelError,
    StoreError,
)

__all__ = ["error_response", "status_of"]

# Checked in order: the first class the error is an instance of gives its status.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (MemoryNotFoundError, 404),  # not found, or another user's: the same answer
    (InvalidInputError, 400),
    (TransferError, 400),
    (StoreError, 503),  # Milvus or a database unreachable: try again later
    (ModelError, 503),
    (ExtractionError, 502),  # the model answered, unusably
    (ConfigError, 500),
    (MemoryLayerError, 500),
)


def status_of(exc: BaseException) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 500)


def error_response(exc: BaseException) -> JSONResponse:
    """`{"error": message, "status": code, "type": the error's class}`, with `WWW-Authenticate` on a
    401 and `Retry-After` on a 429."""
    status = status_of(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="memories"'
    if isinstance(exc, ApiError) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    message = str(exc) if status < 500 or isinstance(exc, MemoryLayerError) else "internal error"
    return JSONResponse({"error": message, "status": status, "type": type(exc).__name__}, status, headers=headers)
