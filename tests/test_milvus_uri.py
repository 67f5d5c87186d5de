"""Where Milvus and the history live (issue 12, items 1 and 4): pymilvus reads MILVUS_URI when it is
imported and accepted only http[s] there, so the documented `MILVUS_URI=./data/milvus.db` broke
`import pymilvus`; the project's own MEMORY_MILVUS_URI, and the old form kept working. With a server
URI the app keeps the history in APP_DATA_DIR, not in ./data of the current directory."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from bench.harness.apprunner import start_app, stop_app
from bench.harness.stub_openai import StubOpenAI
from chatapp.settings import AppSettings
from memory.milvus_env import shield
from tests.processes import run_python

IMPORT_AND_OPEN = (
    "import os, memory, pymilvus; from memory import Memory, MemoryConfig; "
    "m = Memory(MemoryConfig.from_env(os.environ)); print(m.config.vector_store.uri); m.close()"
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"MILVUS_URI": "./data/milvus.db"}, {"MILVUS_URI": "", "MEMORY_MILVUS_URI": "./data/milvus.db"}),
        (
            {"MILVUS_URI": "./a.db", "MEMORY_MILVUS_URI": "./b.db"},  # ours wins
            {"MILVUS_URI": "", "MEMORY_MILVUS_URI": "./b.db"},
        ),
        ({"MILVUS_URI": "http://127.0.0.1:19530"}, {"MILVUS_URI": "http://127.0.0.1:19530"}),
        ({}, {"MILVUS_URI": ""}),  # pymilvus's own .env loading cannot bring one in
    ],
)
def test_shield_moves_a_file_uri_out_of_pymilvus_reach(before: dict[str, str], after: dict[str, str]) -> None:
    environ = dict(before)
    shield(environ)
    assert environ == after


@pytest.mark.parametrize("variable", ["MILVUS_URI", "MEMORY_MILVUS_URI"])
def test_a_file_uri_in_either_variable_imports_and_opens(
    variable: str, tmp_path: Path, model_env: dict[str, str]
) -> None:
    env = {k: v for k, v in model_env.items() if not k.endswith("MILVUS_URI")}
    path = tmp_path / "by-env.db"
    done = run_python(["-c", IMPORT_AND_OPEN], {**os.environ, **env, variable: str(path)}, cwd=tmp_path)
    assert done.stdout.strip() == str(path)
    assert path.exists()


def test_a_file_uri_in_dot_env_does_not_break_import(tmp_path: Path, model_env: dict[str, str]) -> None:
    """pymilvus loads ./.env itself at import: a MILVUS_URI path there broke it too."""
    (tmp_path / ".env").write_text("MILVUS_URI=./from-dotenv.db\n", encoding="utf-8")
    env = {k: v for k, v in {**os.environ, **model_env}.items() if not k.endswith("MILVUS_URI")}
    done = run_python(["-c", "import memory, pymilvus; print('imported')"], env, cwd=tmp_path)
    assert done.stdout.strip() == "imported"


def test_with_a_server_uri_the_history_goes_to_the_app_data_dir(tmp_path: Path) -> None:
    settings = AppSettings.from_env({"APP_DATA_DIR": str(tmp_path / "appdata")})
    server = settings.memory_config({"MILVUS_URI": "http://127.0.0.1:19530", "MEMORY_COLLECTION": "chat"})
    assert server.history_path == str(tmp_path / "appdata" / "chat.history.sqlite")
    lite = settings.memory_config({})
    assert (lite.vector_store.uri, lite.history_path) == (
        str(tmp_path / "appdata" / "milvus.db"),
        str(tmp_path / "appdata" / "milvus.history.sqlite"),
    )
    chosen = settings.memory_config({"MILVUS_URI": "http://h:19530", "MEMORY_HISTORY_DB": "/x/h.sqlite"})
    assert chosen.history_path == "/x/h.sqlite"


@pytest.mark.slow
@pytest.mark.parametrize("variable", ["MILVUS_URI", "MEMORY_MILVUS_URI"])
def test_the_app_starts_with_each_documented_form(variable: str, tmp_path: Path) -> None:
    stub = StubOpenAI().start()
    path = tmp_path / "chosen" / "memories.db"
    path.parent.mkdir()
    app = start_app(tmp_path / "data", stub, {variable: str(path)})
    try:
        with urllib.request.urlopen(app.url, timeout=10) as page:
            assert page.status == 200
        assert path.exists(), "the app opened the file named by the variable"
        assert not (tmp_path / "data" / "milvus.db").exists()
    finally:
        stop_app(app)
        stub.stop()
