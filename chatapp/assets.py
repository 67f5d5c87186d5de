"""Serve the page with nothing from outside: fonts and marks from /public, no CDN, no preconnects.

Chainlit 2.12's index.html hard-codes Google Fonts (Inter), preconnects to fonts.gstatic.com and
KaTeX's CSS on jsDelivr, and no setting removes them (theme.json can only replace the font link).
The app promises that nothing leaves the machine, so the page Chainlit builds is rewritten here:
the font link points at our own `public/fonts/fonts.css` (Inter and Noto Sans JP, self-hosted),
and the other outside links go. KaTeX is only needed for LaTeX, which `.chainlit/config.toml` turns off.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

__all__ = ["EXTERNAL_URL", "local_only_html", "serve_local_only"]

logger = logging.getLogger(__name__)

FONT_LINK = '<link rel="stylesheet" href="/public/fonts/fonts.css" />'
EXTERNAL_URL = re.compile(r"""(?:href|src)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)

_FONT_BLOCK = re.compile(r"<!-- FONT START -->.*?<!-- FONT END -->", re.DOTALL)
_EXTERNAL_LINK = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["'](?:https?:)?//[^>]*>\s*""", re.IGNORECASE | re.DOTALL)
_EXTERNAL_META = re.compile(r"""<meta\b[^>]*\bcontent\s*=\s*["']https?://[^>]*>\s*""", re.IGNORECASE)


def local_only_html(html: str, page_settings: dict[str, str] | None = None) -> str:
    """Chainlit's page with our font stylesheet, without outside links; `page_settings` become
    `window.memoryChat` for public/memory-ui.js (the login page reads the login mode from it)."""
    html = _FONT_BLOCK.sub(f"<!-- FONT START -->{FONT_LINK}<!-- FONT END -->", html)
    html = _EXTERNAL_LINK.sub("", html)
    html = _EXTERNAL_META.sub("", html)  # og:image and og:url name chainlit's own sites
    if page_settings is not None:
        script = f"<script>window.memoryChat = {json.dumps(page_settings)};</script>"
        html = html.replace("</head>", f"{script}\n</head>", 1)
    if EXTERNAL_URL.search(html):
        logger.warning("the page still names an outside address; check chatapp/assets.py against Chainlit's index.html")
    return html


def serve_local_only(page_settings: dict[str, str]) -> None:
    """Wrap Chainlit's page builder (looked up by name on each request to '/')."""
    from chainlit import server

    original: Callable[[str], str] = getattr(server.get_html_template, "__wrapped__", server.get_html_template)

    def get_html_template(root_path: str) -> str:
        return local_only_html(original(root_path), page_settings)

    get_html_template.__wrapped__ = original  # type: ignore[attr-defined]
    server.get_html_template = get_html_template
