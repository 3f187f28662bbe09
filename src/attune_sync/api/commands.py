"""`attune-sync serve` and `attune-sync override list|clear`, as commands of the CLI package.

cli/app.py lists SERVE and OVERRIDE in its COMMANDS. Everything heavy (SQLAlchemy,
FastAPI, uvicorn) is imported inside `run`, so `--help` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..cli.command import USAGE, USAGE_MEANING, Command, CommandGroup, ExitCode
from ..cli.common import fail
from ..cli.options import DATABASE, LOG_FORMAT, LOG_LEVEL, OUTPUT, Option, UsageError, Values
from ..setting_values import choice, parse_switch, split_listen

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from .auth import TokenStore

DEFAULT_API_LISTEN = "127.0.0.1:3000"
"""The seeds' port, on loopback unless told otherwise."""
SHUTDOWN_TIMEOUT_S = 10
"""On SIGTERM, in-flight requests get this long to finish."""


class ServeExit(ExitCode):
    STOPPED = 0, "stopped by SIGTERM/SIGINT, in-flight requests drained"
    TROUBLE = (
        2,
        (
            "cannot start: no token, --no-auth off loopback, unreadable token file, database "
            "unusable or unreachable, address in use"
        ),
    )
    USAGE_ERROR = USAGE, USAGE_MEANING


class OverrideExit(ExitCode):
    DONE = 0, "listed, or cleared"
    NOT_FOUND = 1, "clear: there was no such override"
    TROUBLE = 2, "the database cannot be reached"
    USAGE_ERROR = USAGE, USAGE_MEANING


def _listen(text: str) -> str:
    split_listen(text)
    return text


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a non-empty value")
    return text


API_LISTEN = Option(
    "api_listen",
    "--listen",
    "ATTUNE_SYNC_API_LISTEN",
    _listen,
    DEFAULT_API_LISTEN,
    "address of the REST API (port 0 picks a free one)",
    metavar="HOST:PORT",
)
TOKEN_FILE = Option(
    "token_file",
    "--token-file",
    "ATTUNE_SYNC_API_TOKEN_FILE",
    _text,
    None,
    "tokens, one a line: `<token> read|write [label]`",
    metavar="PATH",
)
NO_AUTH = Option(
    "no_auth",
    "--no-auth",
    "ATTUNE_SYNC_API_NO_AUTH",
    parse_switch,
    False,
    "serve without tokens (only on a loopback address)",
    switch=True,
)
KIND = Option(
    "kind",
    None,
    None,
    choice("trigger", "sensor"),
    None,
    "trigger or sensor",
    metavar="KIND",
    required=True,
)
REF = Option("ref", None, None, _text, None, "its ref", metavar="REF", required=True)
_BASE = (DATABASE, OUTPUT, LOG_FORMAT, LOG_LEVEL)


@dataclass(frozen=True, slots=True)
class ServeSettings:
    database: str
    host: str
    port: int
    token_file: str | None
    no_auth: bool
    output: str

    @classmethod
    def from_values(cls, values: Values) -> ServeSettings:
        host, port = split_listen(str(values["api_listen"]))
        if values["no_auth"] and not is_loopback(host):
            raise UsageError(
                f"--no-auth is refused on {host}: without tokens the API serves only on a "
                "loopback address (--listen 127.0.0.1:PORT)"
            )
        return cls(
            str(values["database"]),
            host,
            port,
            values["token_file"],
            bool(values["no_auth"]),
            str(values["output"]),
        )


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_tokens(token_file: str | None) -> TokenStore:
    import os

    from .auth import TOKENS_ENV, TokenStore, parse_env_tokens, read_token_file

    tokens = parse_env_tokens(os.environ.get(TOKENS_ENV))
    if token_file:
        tokens += read_token_file(token_file)
    return TokenStore(tokens)


def run_serve(settings: ServeSettings) -> int:
    import socket

    import structlog

    from ..db.engine import DatabaseError, make_engine, mask_url
    from ..db.migrate import upgrade
    from .auth import TOKENS_ENV, TokenFileError

    output = settings.output
    try:
        store = load_tokens(settings.token_file)
    except TokenFileError as error:
        return fail(output, str(error), ServeExit.TROUBLE)
    if not store and not settings.no_auth:
        message = (
            f"no API token configured: set {TOKENS_ENV} or --token-file "
            "(or --no-auth, on a loopback address only)"
        )
        return fail(output, message, ServeExit.TROUBLE)
    try:
        engine = make_engine(settings.database)
        upgrade(engine)
    except DatabaseError as error:
        return fail(output, str(error), ServeExit.TROUBLE)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        sock = socket.create_server((settings.host, settings.port), family=family)
    except OSError as error:
        engine.dispose()
        where = f"{settings.host}:{settings.port}"
        return fail(
            output, f"cannot listen on {where}: {error.strerror or error}", ServeExit.TROUBLE
        )
    from .server import serve

    bound = sock.getsockname()[1]
    structlog.get_logger("attune_sync.api").info(
        "serving the API",
        listen=f"{settings.host}:{bound}",
        port=bound,
        database=mask_url(settings.database),
        auth="off" if settings.no_auth else f"{len(store)} tokens",
    )
    try:
        serve(engine, None if settings.no_auth else store, sock, SHUTDOWN_TIMEOUT_S)
    finally:
        engine.dispose()
    return ServeExit.STOPPED


@dataclass(frozen=True, slots=True)
class OverrideSettings:
    database: str
    output: str
    kind: str | None = None
    ref: str | None = None

    @classmethod
    def from_values(cls, values: Values) -> OverrideSettings:
        return cls(str(values["database"]), str(values["output"]))

    @classmethod
    def for_clear(cls, values: Values) -> OverrideSettings:
        return cls(
            str(values["database"]), str(values["output"]), str(values["kind"]), values["ref"]
        )


def _engine(settings: OverrideSettings) -> Engine:
    from ..db.engine import make_engine
    from ..db.migrate import upgrade

    engine = make_engine(settings.database)
    upgrade(engine)
    return engine


def run_list(settings: OverrideSettings) -> int:
    from .. import render
    from ..db.engine import DatabaseError, for_reading
    from ..db.overrides import load_overrides

    try:
        engine = _engine(settings)
    except DatabaseError as error:
        return fail(settings.output, str(error), OverrideExit.TROUBLE)
    try:
        with engine.connect() as raw:
            found = load_overrides(for_reading(raw)).values()
    finally:
        engine.dispose()
    overrides = sorted(found, key=lambda o: (o.kind, o.ref))
    if settings.output == "json":
        print(render.dumps({"overrides": [o.as_json() for o in overrides]}))
    elif not overrides:
        print("No overrides: every managed trigger and sensor is as its file says.")
    else:
        print("\n".join(o.describe() for o in overrides))
    return OverrideExit.DONE


def run_clear(settings: OverrideSettings) -> int:
    from .. import render
    from ..db.engine import DatabaseError

    try:
        engine = _engine(settings)
    except DatabaseError as error:
        return fail(settings.output, str(error), OverrideExit.TROUBLE)
    try:
        found = _clear(engine, str(settings.kind), str(settings.ref))
    finally:
        engine.dispose()
    if found is None:
        message = f"no override on {settings.kind} {settings.ref!r}"
        return fail(settings.output, message, OverrideExit.NOT_FOUND)
    if settings.output == "json":
        print(render.dumps({"cleared": True, "override": found}))
    else:
        state = "enabled" if found["file_enabled"] else "disabled"
        print(f"Cleared: {settings.kind} {settings.ref} is {state} again, as its file says.")
    return OverrideExit.DONE


def _clear(engine: Engine, kind: str, ref: str) -> dict[str, Any] | None:
    """End one override and put the file's value back at once, in one transaction."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from ..db import schema as t
    from ..db.overrides import clear_override, load_overrides

    with engine.begin() as conn:
        found = load_overrides(conn).get((kind, ref))
        if found is None:
            return None
        clear_override(conn, kind, ref)
        table = t.metadata.tables[kind]
        conn.execute(
            update(table)
            .where(table.c.ref == ref, table.c.enabled != found.file_enabled)
            .values(enabled=found.file_enabled, updated=datetime.now(UTC))
        )
    return found.as_json()


SERVE = Command(
    name="serve",
    summary="serve the seeds' REST API over the database (see docs/api.md)",
    options=(*_BASE, API_LISTEN, TOKEN_FILE, NO_AUTH),
    exits=ServeExit,
    settings=ServeSettings.from_values,
    run=run_serve,
    crashed=ServeExit.TROUBLE,
    precedence="2 is decided at start; afterwards 0.",
)
OVERRIDE = CommandGroup(
    "override",
    "list or clear API overrides of `enabled` on synced triggers and sensors",
    (
        Command(
            name="list",
            summary="every override the syncs keep",
            options=_BASE,
            exits=OverrideExit,
            settings=OverrideSettings.from_values,
            run=run_list,
            crashed=OverrideExit.TROUBLE,
            precedence="2 over 0.",
        ),
        Command(
            name="clear",
            summary="end an override: the file's `enabled` applies again, at once",
            options=(KIND, REF, *_BASE),
            exits=OverrideExit,
            settings=OverrideSettings.for_clear,
            run=run_clear,
            crashed=OverrideExit.TROUBLE,
            precedence="2 over 1 over 0.",
        ),
    ),
)

__all__ = ["OVERRIDE", "SERVE"]
