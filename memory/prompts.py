"""Prompt templates are files in prompts/, rendered by name with string.Template."""

from __future__ import annotations

import json
import os
from pathlib import Path
from string import Template

from .errors import ConfigError

__all__ = ["PROMPTS_DIR", "quoted", "render_prompt"]

PROMPTS_DIR = Path(os.environ.get("MEMORY_PROMPTS_DIR") or Path(__file__).resolve().parent.parent / "prompts")


def quoted(value: object) -> str:
    """`value` as JSON on one line, '<' and '>' escaped: data in a prompt that no text can break out of."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def render_prompt(name: str, /, **values: object) -> str:
    """Render prompts/<name>.md; a missing variable is an error, not a blank."""
    path = PROMPTS_DIR / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"prompt template {path} is missing") from None
    try:
        return Template(text).substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise ConfigError(f"prompt {name!r} needs the variable ${exc.args[0]}") from None
    except ValueError as exc:
        raise ConfigError(f"prompt {name!r} has a bad placeholder: {exc}") from None
