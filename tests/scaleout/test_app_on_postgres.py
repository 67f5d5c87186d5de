"""The app's own tables on PostgreSQL: versioned migrations (once, whoever starts first), logins,
preferences, and the settings and commands that lead there."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from chatapp.auth import Users
from chatapp.cluster import check_shared_backends, render_nginx_config
from chatapp.database import CHAINLIT_MIGRATIONS, open_app_database
from chatapp.preferences import Preferences, UserPreferences
from chatapp.settings import AppSettings
from memory import ConfigError, libpq_url, migrate, open_database, sqlalchemy_url
from memory.history import open_history
from memory.history.store import MIGRATIONS as HISTORY_MIGRATIONS
from tests.processes import ROOT, run_python


def test_migrations_run_once_even_when_processes_start_together(pg_url: str) -> None:
    def start() -> None:
        open_app_database(pg_url).close()
        history, locks = open_history(pg_url)
        history.close()
        locks.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: start(), range(4)))
    with psycopg.connect(pg_url) as db:
        applied = db.execute("SELECT component, version FROM schema_migrations ORDER BY 1, 2").fetchall()
        step_columns = {
            r[0] for r in db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'steps'")
        }
    assert applied == sorted(
        [("chatapp", v) for v, _ in CHAINLIT_MIGRATIONS] + [("memory_history", v) for v, _ in HISTORY_MIGRATIONS]
    )
    assert {"defaultOpen", "modes", "autoCollapse", "icon", "command", "feedback"} <= step_columns


def test_a_new_migration_is_applied_to_an_existing_database(pg_url: str) -> None:
    database = open_database(pg_url)
    try:
        assert migrate(database, "demo", [(1, "CREATE TABLE demo (a INT)")]) == [1]
        assert migrate(database, "demo", [(1, "CREATE TABLE demo (a INT)"), (2, "ALTER TABLE demo ADD b TEXT")]) == [2]
        assert migrate(database, "demo", [(1, "x"), (2, "y")]) == []
        with pytest.raises(ValueError, match="increasing"):
            migrate(database, "demo", [(2, "x"), (1, "y")])
    finally:
        database.close()


def test_logins_and_preferences_live_in_postgres(pg_url: str) -> None:
    database = open_app_database(pg_url)
    try:
        users, preferences = Users(database), Preferences(database)
        users.add("ayumi", "correct horse")
        assert users.check("ayumi", "correct horse") == "ayumi"
        assert users.check("ayumi", "wrong password") is None
        assert users.check("nobody", "correct horse") is None
        with pytest.raises(ValueError, match="at least 8"):
            users.add("ayumi", "short")
        assert preferences.get("ayumi") == UserPreferences()
        preferences.set("ayumi", memory_enabled=False)
        assert preferences.set("ayumi", panel_open=False) == UserPreferences(memory_enabled=False, panel_open=False)
    finally:
        database.close()


def test_adduser_writes_to_postgres_when_database_url_is_set(pg_url: str, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": pg_url, "APP_DATA_DIR": str(tmp_path)}
    done = run_python(["-m", "chatapp.adduser", "kenji", "--password-stdin"], env, stdin="long enough password\n")
    assert "PostgreSQL" in done.stdout
    database = open_app_database(pg_url)
    try:
        assert Users(database).check("kenji", "long enough password") == "kenji"
    finally:
        database.close()
    assert not (tmp_path / "users.json").exists() and not (tmp_path / "chainlit.db").exists()


def test_an_unreachable_database_stops_the_app_with_a_clear_message(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "APP_DATA_DIR": str(tmp_path)}
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:9/none"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "chatapp.adduser", "x", "--password-stdin"],
        input="long enough password\n",
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "cannot connect to PostgreSQL at postgresql://nobody@127.0.0.1:9/none" in done.stderr
    # A connection pool used to retry for its whole timeout (15 s) before saying so.
    assert time.monotonic() - started < 10


def test_settings_send_everything_relational_to_database_url(tmp_path: Path) -> None:
    url = "postgresql://chat:secret@127.0.0.1:5432/chat"
    settings = AppSettings.from_env({"DATABASE_URL": url, "APP_DATA_DIR": str(tmp_path)})
    assert settings.database_url == "postgresql+asyncpg://chat:secret@127.0.0.1:5432/chat"
    config = settings.memory_config({"MEMORY_MILVUS_URI": "http://127.0.0.1:19530"})
    assert config.history_db_path == url
    explicit = settings.memory_config({"MEMORY_HISTORY_DB": str(tmp_path / "h.sqlite")})
    assert explicit.history_db_path == str(tmp_path / "h.sqlite")
    with pytest.raises(ConfigError, match="DATABASE_URL must be a postgresql:// URL"):
        AppSettings.from_env({"DATABASE_URL": "mysql://x@y/z"})
    assert sqlalchemy_url("postgres://a@b/c") == "postgresql+asyncpg://a@b/c"
    assert libpq_url("postgresql+asyncpg://a@b/c") == "postgresql://a@b/c"


def test_the_cluster_refuses_storage_that_one_process_owns() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL=postgresql"):
        check_shared_backends({"MEMORY_MILVUS_URI": "http://127.0.0.1:19530"})
    with pytest.raises(ConfigError, match="need a Milvus server"):
        check_shared_backends({"DATABASE_URL": "postgresql://a@b/c", "MEMORY_MILVUS_URI": "./data/milvus.db"})
    check_shared_backends({"DATABASE_URL": "postgresql://a@b/c", "MILVUS_URI": "http://127.0.0.1:19530"})


def test_the_shipped_nginx_config_is_valid(tmp_path: Path) -> None:
    template = (ROOT / "deploy" / "nginx.conf").read_text()
    config = tmp_path / "nginx.conf"
    config.write_text(render_nginx_config(template, "127.0.0.1:18999", [18001, 18002], tmp_path))
    assert "{{" not in config.read_text()
    checked = subprocess.run(
        ["nginx", "-t", "-c", str(config), "-p", str(tmp_path)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    assert "hash $clroute consistent" in config.read_text()
