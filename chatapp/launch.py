"""`make run`: load .env, print the URL, and start Chainlit on HOST:PORT (127.0.0.1:8000)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from dotenv import load_dotenv

from chatapp.settings import AppSettings
from memory import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def banner(settings: AppSettings, env: Mapping[str, str]) -> str:
    models = (
        "OpenAI-compatible models"
        if (env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"))
        else "the offline models, as no API key is set"
    )
    login = (
        "any name and any password" if settings.auth_mode == "open" else "a user from `python -m chatapp.adduser NAME`"
    )
    return f"\n  Memory chat on http://{settings.host}:{settings.port}\n  Chat with {models}. Log in with {login}.\n"


def main() -> int:
    load_dotenv(ROOT / ".env", override=False)
    try:
        settings = AppSettings.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(banner(settings, os.environ), flush=True)
    os.chdir(ROOT)
    command = [
        sys.executable,
        "-m",
        "chainlit",
        "run",
        "app.py",
        "--headless",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
    ]
    os.execv(sys.executable, command)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
