"""Several app processes behind nginx on one machine: `python -m chatapp.cluster --processes N`.

Every process shares DATABASE_URL (PostgreSQL), the Milvus server (MEMORY_MILVUS_URI) and one
CHAINLIT_AUTH_SECRET, so a login, a thread and a memory are the same whichever process serves
them. nginx (deploy/nginx.conf) listens on HOST:PORT and keeps each browser on one process with
a cookie, since Chainlit keeps a chat session in the process that opened it. The apps listen on
127.0.0.1, on the ports after PORT. Stop with Ctrl-C or SIGTERM: every child is stopped by PID.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from dotenv import load_dotenv

from chatapp.auth import ensure_auth_secret
from chatapp.settings import AppSettings
from memory import ConfigError, is_postgres_url, milvus_uri_from_env

ROOT = Path(__file__).resolve().parents[1]
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"
APP_ROOT_LINKS = (".chainlit", "public")
APP_ROOT_COPIES = ("chainlit.md", "chainlit_en-US.md")  # Chainlit refuses a readme resolving outside its root


def check_shared_backends(env: Mapping[str, str]) -> None:
    """Several processes need shared storage: PostgreSQL and a Milvus server, not local files."""
    if not is_postgres_url(env.get("DATABASE_URL")):
        raise ConfigError(
            "several app processes need DATABASE_URL=postgresql://user:password@host:5432/db: the SQLite files "
            "in APP_DATA_DIR belong to one process"
        )
    uri = milvus_uri_from_env(env) or ""
    if "://" not in uri:
        raise ConfigError(
            "several app processes need a Milvus server: set MEMORY_MILVUS_URI=http://host:19530 "
            "(a milvus-lite file opens in one process only)"
        )


def render_nginx_config(template: str, listen: str, upstream_ports: list[int], run_dir: Path) -> str:
    servers = "\n        ".join(f"server 127.0.0.1:{p};" for p in upstream_ports)
    return template.replace("{{LISTEN}}", listen).replace("{{UPSTREAMS}}", servers).replace("{{RUN_DIR}}", str(run_dir))


def app_root(folder: Path) -> Path:
    """A Chainlit app root of one process's own: Chainlit deletes `<root>/.files` when it stops."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in APP_ROOT_LINKS:
        link = folder / name
        if not link.exists():
            link.symlink_to(ROOT / name)
    for name in APP_ROOT_COPIES:
        shutil.copyfile(ROOT / name, folder / name)
    return folder


def wait_for_port(port: int, processes: list[subprocess.Popen[bytes]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


class Cluster:
    def __init__(self, settings: AppSettings, processes: int, run_dir: Path, nginx: str) -> None:
        self.settings = settings
        self.count = processes
        self.run_dir = run_dir
        self.nginx = nginx
        self.children: list[subprocess.Popen[bytes]] = []  # the apps, then nginx

    @property
    def app_ports(self) -> list[int]:
        return [self.settings.port + 1 + n for n in range(self.count)]

    def start(self, env: Mapping[str, str]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        base = dict(env)
        base["CHAINLIT_AUTH_SECRET"] = ensure_auth_secret(self.settings.secret_file)
        base.pop("CI", None)  # `chainlit run` reads CI=true as its own --ci flag
        for n, port in enumerate(self.app_ports):
            root = app_root(self.run_dir / f"app-{n + 1}")
            log = (self.run_dir / f"app-{n + 1}.log").open("ab")
            child_env = {**base, "CHAINLIT_APP_ROOT": str(root), "HOST": "127.0.0.1", "PORT": str(port)}
            command = [sys.executable, "-m", "chainlit", "run", str(ROOT / "app.py"), "--headless"]
            command += ["--host", "127.0.0.1", "--port", str(port)]
            self.children.append(
                subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
            )
        for port in self.app_ports:
            if not wait_for_port(port, self.children, timeout=180):
                raise RuntimeError(f"app on port {port} did not start: see {self.run_dir}/app-*.log")
        config = self.run_dir / "nginx.conf"
        listen = f"{self.settings.host}:{self.settings.port}"
        config.write_text(render_nginx_config(NGINX_TEMPLATE.read_text(), listen, self.app_ports, self.run_dir))
        nginx_log = (self.run_dir / "nginx.out").open("ab")
        self.children.append(
            subprocess.Popen(
                [self.nginx, "-c", str(config), "-p", str(self.run_dir)], stdout=nginx_log, stderr=subprocess.STDOUT
            )
        )
        if not wait_for_port(self.settings.port, self.children, timeout=30):
            raise RuntimeError(f"nginx did not start: see {self.run_dir}/error.log and nginx.out")

    def stop(self) -> None:
        for n, child in reversed(list(enumerate(self.children))):
            if child.poll() is None:
                child.send_signal(signal.SIGQUIT if n >= self.count else signal.SIGTERM)  # nginx: graceful stop
        for child in self.children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def wait(self) -> int:
        """Until a child exits (then stop the rest) or a signal arrives."""
        while all(child.poll() is None for child in self.children):
            time.sleep(0.5)
        return next(child.returncode for child in self.children if child.poll() is not None) or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=2, help="app processes (default 2)")
    parser.add_argument("--run-dir", type=Path, help="logs, app roots and nginx files (default APP_DATA_DIR/cluster)")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx", help="the nginx binary")
    args = parser.parse_args(argv)
    try:
        load_dotenv(ROOT / ".env", override=False)
        settings = AppSettings.from_env()
        check_shared_backends(os.environ)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.processes < 1:
        print("error: --processes is at least 1", file=sys.stderr)
        return 2
    if not Path(args.nginx).exists():
        print(f"error: nginx not found at {args.nginx}: apt-get install -y nginx-light", file=sys.stderr)
        return 2
    cluster = Cluster(settings, args.processes, args.run_dir or settings.data_dir / "cluster", args.nginx)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.start(os.environ)
        print(
            f"Memory chat on http://{settings.host}:{settings.port} ({args.processes} app processes on "
            f"ports {', '.join(map(str, cluster.app_ports))}, behind nginx; logs in {cluster.run_dir})",
            flush=True,
        )
        return cluster.wait()
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main())
