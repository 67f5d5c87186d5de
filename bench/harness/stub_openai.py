"""A local OpenAI-compatible server for tests and benchmarks, scripted per test.

- POST /v1/chat/completions: scripted replies in order (text, a JSON-able object, a `Fault`),
  else a default: `{"operations": []}` for JSON requests, an echo otherwise. Streams (SSE)
  when asked, with an optional delay before the first token.
- POST /v1/embeddings: deterministic hashed bag of words (shared words mean similar
  vectors; Japanese by character bigrams), 1536 dims unless `dimensions` is given,
  normalized, base64 when `encoding_format="base64"`.
- Every request is kept in `requests` for assertions.

Run it alone with `python -m bench.harness.stub_openai --port 8787`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

DEFAULT_DIMS = 1536


@dataclass
class Fault:
    """A scripted failure: an HTTP status with a body, a delay, or a dropped connection."""

    status: int = 500
    body: str = '{"error": {"message": "stub failure", "type": "server_error"}}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)  # when it arrived (bench/load.py's time split)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def is_json_request(self) -> bool:
        return "response_format" in self.body

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


def _tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    cjk = re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]+", text)
    for run in cjk:
        words.extend(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return words or [text]


def stub_embedding(text: str, dims: int = DEFAULT_DIMS) -> np.ndarray:
    vector = np.zeros(dims, dtype=np.float32)
    for token in _tokens(text):
        digest = hashlib.md5(token.encode()).digest()
        index = int.from_bytes(digest[:4], "little") % dims
        vector[index] += 1.0 if digest[4] % 2 else -1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


class StubOpenAI:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self.first_token_delay = 0.0
        self.token_delay = 0.0
        self.reject_json_schema = False
        self.embedding_fault_when: Callable[[list[str]], Fault | None] | None = None
        self.json_reply: Callable[[dict[str, Any]], Any] | None = None
        self._script: deque[Any] = deque()
        self._stream_script: deque[Any] = deque()
        self._embedding_faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="stub-openai", daemon=True)

    # -- control ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> StubOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self._stream_script.clear()
            self._embedding_faults.clear()
        self.first_token_delay = 0.0
        self.token_delay = 0.0
        self.reject_json_schema = False
        self.embedding_fault_when = None
        self.json_reply = None

    def script(self, *replies: Any) -> None:
        """Queue chat replies: a str, an object sent as JSON text, or a Fault."""
        with self._lock:
            self._script.extend(replies)

    def script_stream(self, *replies: Any) -> None:
        """Queue replies for streamed chat requests only (the app's reply, which runs beside extraction)."""
        with self._lock:
            self._stream_script.extend(replies)

    def fail_embeddings(self, *faults: Fault) -> None:
        with self._lock:
            self._embedding_faults.extend(faults)

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def embedding_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    # -- serving ------------------------------------------------------------------------

    def _next_reply(self, body: dict[str, Any]) -> Any:
        with self._lock:
            if body.get("stream") and self._stream_script:
                return self._stream_script.popleft()
            if self._script:
                return self._script.popleft()
        if "response_format" in body:
            return self.json_reply(body) if self.json_reply else {"operations": []}
        last = next((m.get("content", "") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        return f"Stub reply to: {str(last)[:200]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # small writes on a kept-alive connection otherwise wait ~40 ms for a delayed ACK
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "stub"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._json(400, {"error": {"message": "invalid JSON body"}})
                    return
                with stub._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    stub.requests.append(Recorded(self.path, body, headers=headers))
                if self.path.endswith("/embeddings"):
                    self._embeddings(body)
                elif self.path.endswith("/chat/completions"):
                    self._chat(body)
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _fault(self, fault: Fault) -> None:
                time.sleep(fault.delay)
                if fault.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                self._json(fault.status, fault.body, fault.headers)

            def _embeddings(self, body: dict[str, Any]) -> None:
                inputs = body.get("input", [])
                inputs = [inputs] if isinstance(inputs, str) else inputs
                with stub._lock:
                    fault = stub._embedding_faults.popleft() if stub._embedding_faults else None
                if fault is None and stub.embedding_fault_when is not None:
                    fault = stub.embedding_fault_when([str(t) for t in inputs])
                if fault:
                    self._fault(fault)
                    return
                dims = int(body.get("dimensions") or DEFAULT_DIMS)
                data = []
                for index, text in enumerate(inputs):
                    vector = stub_embedding(str(text), dims)
                    encoded: Any = (
                        base64.b64encode(vector.astype("<f4").tobytes()).decode()
                        if body.get("encoding_format") == "base64"
                        else vector.tolist()
                    )
                    data.append({"object": "embedding", "index": index, "embedding": encoded})
                tokens = sum(len(_tokens(str(t))) for t in inputs)
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model", "stub"),
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def _chat(self, body: dict[str, Any]) -> None:
                fmt = body.get("response_format") or {}
                if stub.reject_json_schema and fmt.get("type") == "json_schema":
                    self._json(
                        400,
                        {
                            "error": {
                                "message": "response_format json_schema is not supported",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                    return
                reply = stub._next_reply(body)
                if isinstance(reply, Fault):
                    self._fault(reply)
                    return
                content = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
                if body.get("stream"):
                    self._stream(body, content)
                    return
                prompt_tokens = sum(len(_tokens(str(m.get("content", "")))) for m in body.get("messages", []))
                self._json(
                    200,
                    {
                        "id": "chatcmpl-stub",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "stub"),
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                        ],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": len(_tokens(content)),
                            "total_tokens": prompt_tokens + len(_tokens(content)),
                        },
                    },
                )

            def _stream(self, body: dict[str, Any], content: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                time.sleep(stub.first_token_delay)
                pieces = re.findall(r"\S+\s*|\s+", content) or [""]
                for index, piece in enumerate(pieces):
                    if index:
                        time.sleep(stub.token_delay)
                    chunk = {
                        "id": "chatcmpl-stub",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body.get("model", "stub"),
                        "choices": [
                            {"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                done = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "stub"),
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the OpenAI-compatible test stub.")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--first-token-delay", type=float, default=0.0)
    args = parser.parse_args()
    stub = StubOpenAI(port=args.port)
    stub.first_token_delay = args.first_token_delay
    print(f"stub OpenAI server on {stub.base_url}", flush=True)
    stub._server.serve_forever()


if __name__ == "__main__":
    main()
