"""Add or reset a user for APP_AUTH_MODE=password: `python -m chatapp.adduser NAME`."""

from __future__ import annotations

import argparse
import getpass
import sys

from chatapp.auth import Users
from chatapp.database import open_app_database
from chatapp.settings import AppSettings
from memory import MemoryLayerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("username")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    args = parser.parse_args(argv)
    password = (
        sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"Password for {args.username}: ")
    )
    try:
        settings = AppSettings.from_env()
        database = open_app_database(settings.app_database, settings.data_dir)
    except MemoryLayerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    users = Users(database)
    try:
        users.add(args.username, password)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        database.close()
    print(f"user {args.username!r} saved in {users.where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
