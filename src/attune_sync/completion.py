"""Shell completion scripts, generated from the argparse parser so they never drift from it.

`attune-sync completion bash|zsh|fish` prints one. Every subcommand, option and fixed choice
the parser knows is completed; PACKS_DIR completes directories and file options complete
files.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")
PROG = "attune-sync"


@dataclass(frozen=True, slots=True)
class Option:
    names: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...]
    positional: tuple[str, ...]
    """Choices of the first positional argument, when fixed (e.g. the shells)."""


def _clean(text: str | None) -> str:
    """Help text safe inside every shell's quoting: one line, no quotes or brackets."""
    return re.sub(r"[\[\]'\"`:$\\]", "", " ".join((text or "").split()))[:80]


def _choices(action: argparse.Action) -> tuple[str, ...]:
    """Fixed values: argparse's `choices`, or those of a value parser that lists them."""
    found = action.choices or getattr(action.type, "choices", None) or ()
    return tuple(str(choice) for choice in found)


def _options(parser: argparse.ArgumentParser) -> tuple[Option, ...]:
    found = []
    for action in parser._actions:
        if not action.option_strings:
            continue
        choices = _choices(action)
        takes_value = action.nargs != 0
        found.append(
            Option(tuple(action.option_strings), _clean(action.help), takes_value, choices)
        )
    return tuple(found)


def describe(parser: argparse.ArgumentParser) -> tuple[tuple[Option, ...], tuple[Command, ...]]:
    """The top-level options and every subcommand of `parser`."""
    commands = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, sub in action.choices.items():
            positional = tuple(
                choice for a in sub._actions if not a.option_strings for choice in _choices(a)
            )
            commands.append(Command(name, _clean(helps.get(name)), _options(sub), positional))
    return _options(parser), tuple(commands)


def _words(options: tuple[Option, ...]) -> str:
    return " ".join(name for option in options for name in option.names)


def bash(parser: argparse.ArgumentParser) -> str:
    top, commands = describe(parser)
    names = " ".join(command.name for command in commands)
    cases = []
    values = []
    for command in commands:
        cases.append(
            f"    {command.name}) opts='{_words(command.options)}' "
            f"args='{' '.join(command.positional)}' ;;"
        )
        for option in command.options:
            if option.choices:
                for name in option.names:
                    values.append(
                        f"    {command.name}:{name}) "
                        f"COMPREPLY=($(compgen -W '{' '.join(option.choices)}' -- \"$cur\")); "
                        "return ;;"
                    )
            elif option.takes_value:
                for name in option.names:
                    values.append(f"    {command.name}:{name}) return ;;")
    return "\n".join(
        [
            f'# bash completion for {PROG}: eval "$({PROG} completion bash)"',
            "_attune_sync() {",
            '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
            '  local command="" opts="" args="" i',
            "  COMPREPLY=()",
            "  for ((i = 1; i < COMP_CWORD; i++)); do",
            '    case "${COMP_WORDS[i]}" in',
            f'      {names.replace(" ", "|")}) command="${{COMP_WORDS[i]}}"; break ;;',
            "    esac",
            "  done",
            "  if [[ -z $command ]]; then",
            f"    COMPREPLY=($(compgen -W '{names} {_words(top)}' -- \"$cur\"))",
            "    return",
            "  fi",
            '  case "$command:$prev" in',
            *values,
            "  esac",
            '  case "$command" in',
            *cases,
            "  esac",
            "  if [[ $cur == -* ]]; then",
            '    COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
            "  elif [[ -n $args ]]; then",
            '    COMPREPLY=($(compgen -W "$args" -- "$cur"))',
            "  else",
            '    COMPREPLY=($(compgen -d -- "$cur"))',
            "  fi",
            "}",
            f"complete -o default -F _attune_sync {PROG}",
            "",
        ]
    )


def _zsh_spec(option: Option) -> str:
    names = option.names
    head = f"'{names[0]}" if len(names) == 1 else "{" + ",".join(names) + "}'"
    if len(names) > 1:
        head = "'(" + " ".join(names) + ")'" + head
    value = ""
    if option.choices:
        value = f":value:({' '.join(option.choices)})"
    elif option.takes_value:
        value = ":value:_files"
    return f"{head}[{option.help}]{value}'"


def zsh(parser: argparse.ArgumentParser) -> str:
    top, commands = describe(parser)
    lines = [
        f"#compdef {PROG}",
        f'# zsh completion for {PROG}: {PROG} completion zsh > "${{fpath[1]}}/_{PROG}"',
        "_attune_sync() {",
        "  local line state",
        "  _arguments -C \\",
        *(f"    {_zsh_spec(option)} \\" for option in top),
        "    '1: :->command' \\",
        "    '*:: :->arguments'",
        "  case $state in",
        "    command)",
        "      _values 'command' \\",
        *(f"        '{command.name}[{command.help}]' \\" for command in commands),
        "      ;;",
        "    arguments)",
        "      case $line[1] in",
    ]
    for command in commands:
        specs = [_zsh_spec(option) for option in command.options]
        if command.positional:
            specs.append(f"'1:argument:({' '.join(command.positional)})'")
        elif command.name != "completion":
            specs.append("'1:PACKS_DIR:_files -/'")
        lines.append(f"        {command.name}) _arguments " + " ".join(specs) + " ;;")
    lines += ["      esac", "      ;;", "  esac", "}", '_attune_sync "$@"', ""]
    return "\n".join(lines)


def fish(parser: argparse.ArgumentParser) -> str:
    top, commands = describe(parser)
    lines = [
        f"# fish completion for {PROG}: {PROG} completion fish | source",
        f"complete -c {PROG} -f",
    ]
    for option in top:
        lines.append(f"complete -c {PROG} -n __fish_use_subcommand {_fish_names(option)}")
    for command in commands:
        lines.append(
            f"complete -c {PROG} -n __fish_use_subcommand -a {command.name} -d '{command.help}'"
        )
        when = f"-n '__fish_seen_subcommand_from {command.name}'"
        if command.positional:
            lines.append(f"complete -c {PROG} {when} -a '{' '.join(command.positional)}'")
        for option in command.options:
            lines.append(f"complete -c {PROG} {when} {_fish_names(option)}")
    return "\n".join([*lines, ""])


def _fish_names(option: Option) -> str:
    parts = []
    for name in option.names:
        parts.append(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}")
    if option.choices:
        parts.append(f"-x -a '{' '.join(option.choices)}'")
    elif option.takes_value:
        parts.append("-r -F")
    parts.append(f"-d '{option.help}'")
    return " ".join(parts)


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](parser)
