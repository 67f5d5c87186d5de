"""The browser fixtures (the model stub, the real app, Chromium) for the reliability suite's browser tests."""

from tests.browser.conftest import app_stub, browser, running_app

__all__ = ["app_stub", "browser", "running_app"]
