"""Bearer tokens: full-access ones from the environment, read or write ones from a file.

Tokens are compared in constant time against every configured token (so the time taken
tells nothing about which one nearly matched) and never logged: a caller is named by its
optional label, or by a short digest of its token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Access = Literal["read", "write"]

TOKENS_ENV = "ATTUNE_SYNC_API_TOKENS"


class TokenFileError(Exception):
    """The token file is unreadable or has a bad line (the message names the line)."""


@dataclass(frozen=True, slots=True)
class Caller:
    access: Access
    name: str
    """Who set an override: the token's label, or `token:<digest>`; never the token."""


@dataclass(frozen=True, slots=True)
class _Token:
    secret: bytes
    caller: Caller


def _named(token: str, label: str | None) -> str:
    return label or "token:" + hashlib.sha256(token.encode()).hexdigest()[:8]


class TokenStore:
    def __init__(self, tokens: list[tuple[str, Access, str | None]]) -> None:
        self._tokens = [
            _Token(token.encode(), Caller(access, _named(token, label)))
            for token, access, label in tokens
        ]

    def __len__(self) -> int:
        return len(self._tokens)

    def caller(self, presented: str) -> Caller | None:
        given = presented.encode()
        found = None
        for token in self._tokens:
            if hmac.compare_digest(token.secret, given) and found is None:
                found = token.caller
        return found


def parse_env_tokens(text: str | None) -> list[tuple[str, Access, str | None]]:
    """`ATTUNE_SYNC_API_TOKENS`: comma-separated, each with full access."""
    return [(part.strip(), "write", None) for part in (text or "").split(",") if part.strip()]


def read_token_file(path: str) -> list[tuple[str, Access, str | None]]:
    """One token a line: `<token> read|write [label]`; blank lines and `#` comments skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise TokenFileError(f"cannot read the token file {path}: {error}") from error
    found: list[tuple[str, Access, str | None]] = []
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) not in (2, 3) or words[1] not in ("read", "write"):
            raise TokenFileError(
                f"{path}:{number}: expected `<token> read` or `<token> write` "
                "(optionally followed by a label); the line is not shown as it holds a token"
            )
        access: Access = "read" if words[1] == "read" else "write"
        found.append((words[0], access, words[2] if len(words) == 3 else None))
    return found
