"""Fixtures for the browser tests: the model stub, the real app, Debian's Chromium via Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apprunner import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, RunningApp, start_app, stop_app
from tests.stub_openai import StubOpenAI

__all__ = ["ARTIFACTS", "ROOT", "RunningApp", "start_app", "stop_app"]


@pytest.fixture(scope="module")
def app_stub() -> Iterator[StubOpenAI]:
    stub = StubOpenAI().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def running_app(app_stub: StubOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(tmp_path_factory.mktemp("app") / "data", app_stub)
    yield app
    stop_app(app)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `apt-get install -y chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
