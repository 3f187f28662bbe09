"""Problems reading a YAML file, said in the author's terms: where, what, and how to fix it."""

from __future__ import annotations

import yaml


class YamlProblem(Exception):
    """A file that cannot be read as one YAML mapping."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.field = field
        self.hint = hint


def syntax_problem(text: bytes | str, error: yaml.MarkedYAMLError) -> YamlProblem:
    mark = error.problem_mark or error.context_mark
    problem = " ".join(part for part in (error.context, error.problem) if part)
    line = mark.line + 1 if mark else None
    if line is not None and _indented_with_tab(text, line):
        return YamlProblem(
            "a tab is used for indentation; YAML indents with spaces only",
            line=line,
            column=mark.column + 1 if mark else None,
            hint="replace the tabs at the start of this line with spaces",
        )
    return YamlProblem(
        f"invalid YAML: {problem or error}",
        line=line,
        column=mark.column + 1 if mark else None,
        hint="check indentation and quoting near this line",
    )


def _indented_with_tab(text: bytes | str, line: int) -> bool:
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    lines = raw.split(b"\n")
    if not 0 < line <= len(lines):
        return False
    content = lines[line - 1]
    return b"\t" in content[: len(content) - len(content.lstrip(b" \t"))]


def encoding_problem(text: bytes | str, position: int, reason: str) -> YamlProblem:
    """A file that is not UTF-8, located at the first byte that is not."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    position = max(0, min(position, len(raw)))
    start = raw.rfind(b"\n", 0, position) + 1
    column = len(raw[start:position].decode("utf-8", "replace")) + 1
    return YamlProblem(
        f"not UTF-8 text: {reason} (byte {raw[position : position + 1]!r})",
        line=raw.count(b"\n", 0, position) + 1,
        column=column,
        hint="save the file as UTF-8",
    )
