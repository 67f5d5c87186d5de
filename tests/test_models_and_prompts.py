"""Prompts render by name; tiktoken works offline; the offline models and the stub really answer."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import numpy as np
import openai
import pytest

from bench.harness.stub_openai import StubOpenAI
from chatapp.reply import ReplyModel
from memory import ConfigError, LLMConfig, render_prompt
from memory.prompts import PROMPTS_DIR
from memory.providers import LocalE5Embedder
from tests.processes import run_python

ROOT = Path(__file__).resolve().parent.parent
PROMPT_VALUES = {
    "today": "2026-11-24",
    "weekday": "Tuesday",
    "memories": '"Likes tea"',
    "conversation": "user: hi",
    "length": "Be concise.",
}


@pytest.mark.parametrize("name", sorted(p.stem for p in PROMPTS_DIR.glob("*.md")))
def test_every_prompt_renders(name: str) -> None:
    rendered = render_prompt(name, **PROMPT_VALUES)
    assert "$" not in rendered.replace("$$", ""), "no placeholder left"
    assert any(value in rendered for value in PROMPT_VALUES.values()), "the values are filled in"


def test_a_missing_variable_fails_loudly() -> None:
    with pytest.raises(ConfigError, match=r"prompt 'extract' needs the variable \$"):
        render_prompt("extract", today="2026-11-24")
    with pytest.raises(ConfigError, match="is missing"):
        render_prompt("no_such_prompt")


def test_tiktoken_counts_offline_from_a_cold_cache(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "cache"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    code = "from memory.tokens import count_tokens; print(count_tokens('hello world'), count_tokens('こんにちは世界'))"
    done = run_python(["-c", code], env=env)
    english, japanese = map(int, done.stdout.split())
    assert english == 2 and japanese > 2
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_local_embedder_is_multilingual_and_384_wide() -> None:
    embedder = LocalE5Embedder()
    tennis, loves_tennis, exam = np.array(
        embedder.embed(["私はテニスが好きです", "テニスが大好き", "数学の試験は来週です"], "passage")
    )
    assert tennis.shape == (384,)
    assert float(tennis @ loves_tennis) > float(tennis @ exam)
    query = np.array(embedder.embed(["What sport does she like?"], "query")[0])
    english = np.array(embedder.embed(["Likes to play tennis on weekends", "Has a linear algebra exam"], "passage"))
    assert float(english[0] @ query) > float(english[1] @ query)


@pytest.mark.slow
def test_the_offline_chat_model_streams_a_reply() -> None:
    client = ReplyModel(LLMConfig(provider="local"))
    assert client.base_url().startswith("http://127.0.0.1:")

    async def collect() -> str:
        return "".join([piece async for piece in client.stream([{"role": "user", "content": "Say hello."}])])

    reply = asyncio.run(collect())
    assert reply.strip(), "SmolLM2 answered"


def test_the_stub_embeds_deterministically_and_in_base64(stub: StubOpenAI) -> None:
    client = openai.OpenAI(base_url=stub.base_url, api_key="k")
    a = client.embeddings.create(model="m", input=["green tea", "green tea", "motorbike"]).data
    assert a[0].embedding == a[1].embedding and a[0].embedding != a[2].embedding
    raw = client.embeddings.create(model="m", input=["green tea"], encoding_format="base64").data[0].embedding
    decoded = np.frombuffer(base64.b64decode(raw), dtype="<f4")  # type: ignore[arg-type]
    assert np.allclose(decoded, a[0].embedding)
    assert len(client.embeddings.create(model="m", input="x", dimensions=8).data[0].embedding) == 8


def test_the_stub_streams_scripted_replies_and_records_requests(stub: StubOpenAI) -> None:
    client = openai.OpenAI(base_url=stub.base_url, api_key="k")
    stub.script("one two three")
    pieces = [
        c.choices[0].delta.content
        for c in client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
        if c.choices and c.choices[0].delta.content
    ]
    assert "".join(pieces) == "one two three" and len(pieces) == 3
    assert stub.chat_requests()[0].body["messages"] == [{"role": "user", "content": "hi"}]
