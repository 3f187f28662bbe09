"""The GitOps workflow's options and command (issue 9), registered by small hooks.

`validate --output github|junit`, `diff --output markdown`, `diff --out PLAN`,
`apply --plan PLAN` and `attune-sync completion bash|zsh|fish`. The work itself lives
outside the command line package (render_ci, render_markdown, saved_plan, completion,
workflow_cli) and is imported only when a command runs, so `--help` stays light.
"""

from __future__ import annotations

from dataclasses import replace

from ..completion import SHELLS
from ..setting_values import choice
from .command import USAGE, USAGE_MEANING, Command, ExitCode
from .options import LOG_FORMAT, LOG_LEVEL, OUTPUT, OUTPUT_FORMATS, Option, Values

VALIDATE_FORMATS = (*OUTPUT_FORMATS, "github", "junit")
DIFF_FORMATS = (*OUTPUT_FORMATS, "markdown")
CI_FORMATS = ("github", "junit", "markdown")
"""Formats whose output workflow_cli prints."""

VALIDATE_OUTPUT = replace(
    OUTPUT,
    parse=choice(*VALIDATE_FORMATS),
    help="text or json; github (workflow annotations) or junit (XML) for CI",
)
DIFF_OUTPUT = replace(
    OUTPUT,
    parse=choice(*DIFF_FORMATS),
    help="text or json; markdown: the plan as a pull request comment",
)


def _path(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a file name")
    return text


OUT = Option(
    "out",
    "--out",
    None,
    _path,
    None,
    "also write the plan with fingerprints to PLAN, for `apply --plan PLAN`",
    metavar="PLAN",
)
PLAN = Option(
    "plan",
    "--plan",
    None,
    _path,
    None,
    "apply exactly the plan `diff --out PLAN` wrote, or refuse (exit 1) if anything moved",
    metavar="PLAN",
)
SHELL = Option(
    "shell",
    None,
    None,
    choice(*SHELLS),
    None,
    f"the shell: {', '.join(SHELLS)}",
    metavar="SHELL",
    required=True,
)


class CompletionExit(ExitCode):
    PRINTED = 0, "the script was printed"
    USAGE_ERROR = USAGE, USAGE_MEANING


def _shell(values: Values) -> str:
    return str(values["shell"])


def _print_completion(shell: str) -> int:
    from ..completion import script
    from .app import build_parser  # the whole parser, every command's options included

    print(script(shell, build_parser()), end="")
    return CompletionExit.PRINTED


COMPLETION = Command(
    name="completion",
    summary="print a shell completion script (bash, zsh or fish)",
    options=(SHELL, LOG_FORMAT, LOG_LEVEL),
    exits=CompletionExit,
    settings=_shell,
    run=_print_completion,
    crashed=1,
    precedence="64 over 0.",
)
