"""Real servers on 127.0.0.1 for the scale-out tests, each started here and stopped by its PID:
PostgreSQL 15 (Debian's, in a temporary folder), a Milvus server (milvus-lite 3.2.2's gRPC server,
from its own venv: `make milvus-server`); nginx comes with `python -m chatapp.cluster`."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness.apprunner import ROOT, free_port
from bench.harness.stub_openai import StubOpenAI

PG_BIN = Path("/usr/lib/postgresql/15/bin")
MILVUS_SERVER = ROOT / ".venv-milvus-server" / "bin" / "milvus-lite"


def wait_for_port(
    port: int, process: subprocess.Popen[bytes] | None, what: str, log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- PostgreSQL -----------------------------------------------------------------------------


@dataclass
class Postgres:
    port: int
    data: Path

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres(args: list[str], log: Path) -> None:
    """Run a PostgreSQL tool as the `postgres` user when we are root (initdb refuses root)."""
    command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args
    with log.open("ab") as out:
        subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=120)


@contextmanager
def postgres(folder: Path) -> Iterator[Postgres]:
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL 15 is not installed ({PG_BIN}): apt-get install -y postgresql-15")
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for part in [folder, *folder.parents]:
            if part == Path("/"):
                break
            part.chmod(part.stat().st_mode | 0o011)  # postgres must traverse to its data folder
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, log, port = folder / "data", folder / "postgres.log", free_port()
    log.touch()
    if os.geteuid() == 0:
        os.chown(log, pwd.getpwnam("postgres").pw_uid, -1)
    _as_postgres(
        [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"], log
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off"
        " -c full_page_writes=off -c max_connections=200"
    )
    _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start"], log)
    try:
        yield Postgres(port, data)
    finally:
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], log)


# -- Milvus server --------------------------------------------------------------------------


@dataclass
class MilvusServer:
    port: int
    data: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)

    def start_again(self) -> None:
        """Restart on the same data folder and port (a server restart, as an operator sees it)."""
        self.stop()
        self.process = _start_milvus(self.data, self.port, self.log)


def _start_milvus(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    if not MILVUS_SERVER.exists():
        raise RuntimeError(f"{MILVUS_SERVER} is missing: run `make milvus-server`")
    process = subprocess.Popen(
        [str(MILVUS_SERVER), "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=data.parent,
    )
    wait_for_port(port, process, "the milvus-lite server", log)
    return process


@contextmanager
def milvus_server(folder: Path) -> Iterator[MilvusServer]:
    folder.mkdir(parents=True, exist_ok=True)
    data, log, port = folder / "milvus-data", folder / "milvus.log", free_port()
    server = MilvusServer(port, data, _start_milvus(data, port, log), log)
    try:
        yield server
    finally:
        server.stop()


# -- the app, several processes behind nginx -------------------------------------------------


@dataclass
class RunningCluster:
    url: str
    app_urls: list[str]
    run_dir: Path
    database: str
    memory_config: dict[str, Any]
    process: subprocess.Popen[bytes]

    def access_log(self) -> str:
        return (self.run_dir / "access.log").read_text()

    def app_logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.run_dir.glob("app-*.log")))


def three_free_ports() -> int:
    """A port whose next two are free as well (`chatapp.cluster` gives the apps PORT+1, PORT+2, ...)."""
    for _ in range(200):
        base = free_port()
        if base > 65000:
            continue
        try:
            for port in (base + 1, base + 2):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no three free ports in a row")


@contextmanager
def app_cluster(
    folder: Path,
    database: str,
    milvus: MilvusServer,
    stub: StubOpenAI,
    processes: int,
    collection: str = "cluster_memories",
    extra_env: dict[str, str] | None = None,
) -> Iterator[RunningCluster]:
    """`python -m chatapp.cluster --processes N` on PostgreSQL, the Milvus server and the model stub."""
    if processes > 2:
        raise ValueError("three_free_ports() reserves two app ports")
    port = three_free_ports()
    prefixes = ("OPENAI_", "MEMORY_", "MILVUS_", "CHAINLIT_", "APP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "APP_DATA_DIR": str(folder / "data"),
            "DATABASE_URL": database,
            "MEMORY_MILVUS_URI": milvus.uri,
            "MEMORY_COLLECTION": collection,
            "MEMORY_EXTRACTOR": "heuristic",
            "MEMORY_LOCAL_ONLY": "true",
            "OPENAI_BASE_URL": stub.base_url,
            "OPENAI_API_KEY": "sk-stub-not-a-real-key",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
    )
    env.pop("CI", None)
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "cluster.out"
    command = [sys.executable, "-m", "chatapp.cluster", "--processes", str(processes), "--run-dir", str(folder / "run")]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while "Memory chat on" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"the cluster did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)
    running = RunningCluster(
        url=f"http://127.0.0.1:{port}",
        app_urls=[f"http://127.0.0.1:{port + 1 + n}" for n in range(processes)],
        run_dir=folder / "run",
        database=database,
        memory_config={
            "vector_store": {"provider": "milvus", "config": {"url": milvus.uri, "collection_name": collection}},
            "history_db_path": database,
            "extractor": "heuristic",
            "embedder": {
                "provider": "openai",
                "config": {"base_url": stub.base_url, "api_key": "sk-stub-not-a-real-key"},
            },
            "llm": {"provider": "openai", "config": {"base_url": stub.base_url, "api_key": "sk-stub-not-a-real-key"}},
        },
        process=process,
    )
    try:
        yield running
    finally:
        stop_process(process, timeout=60)
        for used in range(port, port + processes + 1):  # every child was stopped
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", used)) == 0:
                    raise RuntimeError(f"port {used} is still open after the cluster stopped")
