"""`attune-sync schema KIND`: print the editor JSON Schema of one kind of pack file.

The schemas are generated from the field tables (see editor_schemas); the repository ships
the same output under schemas/. `--out DIR` writes every kind's file there instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .command import USAGE, USAGE_MEANING, Command, ExitCode
from .options import LOG_FORMAT, LOG_LEVEL, Option, Values

KINDS = ("pack", "trigger", "sensor", "action", "rule", "runtime")
"""The kinds of file; a test checks this list against the field tables."""


class SchemaExit(ExitCode):
    OK = 0, "the schema was printed (or written)"
    TROUBLE = 2, "the folder given to --out could not be written"
    USAGE_ERROR = USAGE, USAGE_MEANING


def _kind(text: str) -> str:
    if text not in (*KINDS, "all"):
        raise ValueError(f"expected one of: {', '.join(KINDS)}, all")
    return text


KIND = Option(
    "kind",
    None,
    None,
    _kind,
    None,
    f"which file's schema: {', '.join(KINDS)}, or all (with --out)",
    metavar="KIND",
    required=True,
)
OUT_DIR = Option(
    "out_dir",
    "--out",
    None,
    Path,
    None,
    "write <kind>.schema.json files into this folder instead of printing",
    metavar="DIR",
)


@dataclass(frozen=True, slots=True)
class SchemaSettings:
    kind: str
    out_dir: Path | None

    @classmethod
    def from_values(cls, values: Values) -> SchemaSettings:
        return cls(str(values["kind"]), values["out_dir"])


def run(settings: SchemaSettings) -> int:
    from ..editor_schemas import KINDS as TABLE_KINDS
    from ..editor_schemas import file_name, render

    kinds = TABLE_KINDS if settings.kind == "all" else (settings.kind,)
    if settings.out_dir is None:
        if len(kinds) > 1:
            print("error: `schema all` needs --out DIR", file=sys.stderr)
            return SchemaExit.USAGE_ERROR
        sys.stdout.write(render(kinds[0]))
        return SchemaExit.OK
    try:
        settings.out_dir.mkdir(parents=True, exist_ok=True)
        for kind in kinds:
            (settings.out_dir / file_name(kind)).write_text(render(kind))
    except OSError as error:
        print(f"error: cannot write {settings.out_dir}: {error}", file=sys.stderr)
        return SchemaExit.TROUBLE
    return SchemaExit.OK


COMMAND = Command(
    name="schema",
    summary="print the editor JSON Schema of a kind of pack file",
    options=(KIND, OUT_DIR, LOG_FORMAT, LOG_LEVEL),
    exits=SchemaExit,
    settings=SchemaSettings.from_values,
    run=run,
    crashed=SchemaExit.TROUBLE,
    precedence="64 before anything is printed or written; then 2 on the first file that fails.",
)
