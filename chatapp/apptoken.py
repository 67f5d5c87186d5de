"""Make, list or revoke a user's tokens for other apps without the panel (a server without a
browser, a script's setup): `python -m chatapp.apptoken NAME TOKEN_NAME` prints a new token once;
`--list` lists the user's tokens; `--revoke TOKEN_NAME` revokes one."""

from __future__ import annotations

import argparse
import sys

from chatapp.api.tokens import TokenError, TokenStore
from chatapp.database import open_app_database
from chatapp.settings import AppSettings
from memory import MemoryLayerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("user", help="the user's login name (their identifier in the app)")
    parser.add_argument("token_name", nargs="?", help="a name for the new token, e.g. laptop")
    parser.add_argument("--list", action="store_true", help="list the user's tokens")
    parser.add_argument("--revoke", metavar="TOKEN_NAME", help="revoke the user's token of that name")
    args = parser.parse_args(argv)
    if not (args.list or args.revoke or args.token_name):
        parser.error("give a token name, --list or --revoke TOKEN_NAME")
    try:
        settings = AppSettings.from_env()
        database = open_app_database(settings.app_database, None if settings.uses_postgres else settings.data_dir)
    except MemoryLayerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tokens = TokenStore(database)
    try:
        if args.list:
            for token in tokens.list(args.user):
                used = token["last_used_at"] or "never"
                print(f"{token['name']}\t…{token['hint']}\tmade {token['created_at']}\tlast used {used}")
        elif args.revoke:
            found = next((t for t in tokens.list(args.user) if t["name"] == args.revoke), None)
            if found is None or tokens.revoke(args.user, found["id"]) is None:
                print(f"error: {args.user!r} has no token named {args.revoke!r}", file=sys.stderr)
                return 1
            print(f"revoked {args.revoke!r}")
        else:
            _, secret = tokens.create(args.user, args.token_name)
            print(secret)
    except TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        database.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
