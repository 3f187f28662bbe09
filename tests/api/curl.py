"""Send a curl command line from the seed documents as written, with a token header added."""

from __future__ import annotations

import json
import shlex
from typing import Any

import httpx

SEED_HOST = "http://localhost:3000"


def send(client: httpx.Client, command: str, token: str, **variables: str) -> httpx.Response:
    """Run the `curl ...` line (with `\\` continuations) against `client`'s server.

    `$TOKEN`/`YOUR_TOKEN` become `token`; a command without an Authorization header gets one
    (the trigger and sensor seed's examples leave it out); `$NAME` takes `variables[NAME]`.
    """
    text = command.replace("\\\n", " ").replace("YOUR_TOKEN", token).replace("$TOKEN", token)
    for name, value in variables.items():
        text = text.replace(f"${name}", value)
    words = shlex.split(text)
    assert words[0] == "curl", command
    method, url, data = "GET", "", None
    headers: dict[str, str] = {}
    index = 1
    while index < len(words):
        word = words[index]
        if word == "-X":
            method = words[index + 1]
            index += 2
        elif word == "-H":
            name, _, value = words[index + 1].partition(":")
            headers[name.strip()] = value.strip()
            index += 2
        elif word == "-d":
            data = words[index + 1]
            method = "POST" if method == "GET" else method
            index += 2
        elif word == "-s":
            index += 1
        else:
            url = word
            index += 1
    headers.setdefault("Authorization", f"Bearer {token}")
    path = url.removeprefix(SEED_HOST)
    assert path.startswith("/api/v1/"), url
    return client.request(method, path, headers=headers, content=data)


def seed_body(command: str) -> Any:
    """The JSON a curl command sends (for comparing answers with it)."""
    words = shlex.split(command.replace("\\\n", " "))
    return json.loads(words[words.index("-d") + 1])
