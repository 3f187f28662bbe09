"""`attune-sync serve` and `attune-sync override list|clear`: parsing and entry points.

cli.py only registers these (`add_api_parsers`); each parser carries its own handler.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import update

from .. import render
from ..db import schema as t
from ..db.engine import DEFAULT_DATABASE_URL, DatabaseError, for_reading, make_engine, mask_url
from ..db.migrate import upgrade
from ..db.overrides import clear_override, load_overrides
from ..envvars import env_flag
from .auth import TOKENS_ENV, TokenFileError, TokenStore, parse_env_tokens, read_token_file

log = structlog.get_logger("attune_sync.api")

DEFAULT_API_LISTEN = "127.0.0.1:3000"
"""The seeds' port, on loopback unless told otherwise."""

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # override clear: there was no such override
EXIT_TROUBLE = 2  # bad configuration, database unreachable
SHUTDOWN_TIMEOUT_S = 10
"""On SIGTERM, in-flight requests get this long to finish."""


def _add_logging(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--database",
        default=os.environ.get("ATTUNE_SYNC_DATABASE_URL", DEFAULT_DATABASE_URL),
        metavar="URL",
        help=f"SQLAlchemy URL (env ATTUNE_SYNC_DATABASE_URL, default {DEFAULT_DATABASE_URL})",
    )
    sub.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default=os.environ.get("ATTUNE_SYNC_LOG_FORMAT", "auto"),
    )
    sub.add_argument("--log-level", default=os.environ.get("ATTUNE_SYNC_LOG_LEVEL", "info"))


def add_api_parsers(commands: argparse._SubParsersAction[Any]) -> None:
    serve = commands.add_parser("serve", help="serve the REST API of the seeds over the database")
    _add_logging(serve)
    serve.add_argument(
        "--listen",
        default=os.environ.get("ATTUNE_SYNC_API_LISTEN", DEFAULT_API_LISTEN),
        metavar="HOST:PORT",
        help=f"address to serve on (env ATTUNE_SYNC_API_LISTEN, default {DEFAULT_API_LISTEN})",
    )
    serve.add_argument(
        "--token-file",
        default=os.environ.get("ATTUNE_SYNC_API_TOKEN_FILE"),
        metavar="PATH",
        help="tokens, one a line: `<token> read|write [label]` (env ATTUNE_SYNC_API_TOKEN_FILE)",
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        default=env_flag("ATTUNE_SYNC_API_NO_AUTH"),
        help="serve without tokens (only on a loopback address)",
    )
    serve.set_defaults(handler=cmd_serve)

    override = commands.add_parser("override", help="list or clear API overrides of `enabled`")
    actions = override.add_subparsers(dest="override_command", required=True)
    listing = actions.add_parser("list", help="every override syncs keep")
    _add_logging(listing)
    listing.add_argument("--output", choices=("text", "json"), default="text")
    clear = actions.add_parser("clear", help="end an override: the file's `enabled` applies")
    _add_logging(clear)
    clear.add_argument("kind", choices=("trigger", "sensor"), metavar="KIND")
    clear.add_argument("ref", metavar="REF")
    clear.add_argument("--output", choices=("text", "json"), default="text")
    override.set_defaults(handler=cmd_override)


def _fail(message: str, code: int = EXIT_TROUBLE) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen must be HOST:PORT, not {listen!r}")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_tokens(token_file: str | None) -> TokenStore:
    tokens = parse_env_tokens(os.environ.get(TOKENS_ENV))
    if token_file:
        tokens += read_token_file(token_file)
    return TokenStore(tokens)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        host, port = _parse_listen(args.listen)
        store = load_tokens(args.token_file)
    except (ValueError, TokenFileError) as error:
        return _fail(str(error))
    if args.no_auth and not is_loopback(host):
        return _fail(f"--no-auth is refused on {host}: it serves only on a loopback address")
    if not store and not args.no_auth:
        return _fail(
            f"no API token configured: set {TOKENS_ENV} or --token-file "
            "(or --no-auth, on a loopback address only)"
        )
    try:
        engine = make_engine(args.database)
        upgrade(engine)
    except DatabaseError as error:
        return _fail(str(error))
    try:
        sock = socket.create_server((host, port), family=_family(host), reuse_port=False)
    except OSError as error:
        return _fail(f"cannot listen on {args.listen}: {error.strerror or error}")
    from .server import serve  # keeps `override` free of uvicorn

    bound = sock.getsockname()[1]
    log.info(
        "serving the API",
        listen=f"{host}:{bound}",
        port=bound,
        database=mask_url(args.database),
        auth="off" if args.no_auth else f"{len(store)} tokens",
    )
    serve(engine, None if args.no_auth else store, sock, SHUTDOWN_TIMEOUT_S)
    engine.dispose()
    return EXIT_OK


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def cmd_override(args: argparse.Namespace) -> int:
    try:
        engine = make_engine(args.database)
        upgrade(engine)
    except DatabaseError as error:
        return _fail(str(error))
    if args.override_command == "list":
        with engine.connect() as raw:
            conn = for_reading(raw)
            overrides = sorted(load_overrides(conn).values(), key=lambda o: (o.kind, o.ref))
        if args.output == "json":
            print(render.dumps({"overrides": [o.as_json() for o in overrides]}))
        elif not overrides:
            print("No overrides: every managed trigger and sensor is as its file says.")
        else:
            print("\n".join(o.describe() for o in overrides))
        return EXIT_OK
    return _clear(engine, args)


def _clear(engine: Any, args: argparse.Namespace) -> int:
    with engine.begin() as conn:
        found = load_overrides(conn).get((args.kind, args.ref))
        if found is not None:
            clear_override(conn, args.kind, args.ref)
            # The file's value applies at once, not only at the next sync.
            table = t.metadata.tables[args.kind]
            conn.execute(
                update(table)
                .where(table.c.ref == args.ref, table.c.enabled != found.file_enabled)
                .values(enabled=found.file_enabled, updated=datetime.now(UTC))
            )
    if found is None:
        message = f"no override on {args.kind} {args.ref!r}"
        if args.output == "json":
            print(render.dumps({"cleared": False, "error": message}))
        else:
            print(f"error: {message}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.output == "json":
        print(render.dumps({"cleared": True, "override": found.as_json()}))
    else:
        state = "enabled" if found.file_enabled else "disabled"
        print(f"Cleared: {args.kind} {args.ref} is {state} again, as its file says.")
    return EXIT_OK
