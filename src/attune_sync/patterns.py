"""Regular expressions from pack schemas, matched within a time budget.

A schema's `pattern` or `patternProperties` is written by a pack author; Python's `re`
backtracks without limit, so `^(a|a)*$` against a long config value hangs the process and
cannot be interrupted. Every schema regex is matched with the `regex` module instead, whose
matching takes a timeout: the checks of one file share `FILE_BUDGET_S` seconds, and a file
that runs out is invalid (`PatternBudgetExceeded`), while the other packs sync.

python-jsonschema calls `re.search` from its keyword functions (pattern, patternProperties,
additionalProperties and unevaluatedProperties all match property names against the
patterns): `install()` points those modules' `re` at `BUDGETED_RE`, which keeps every other
`re` function as it is. A test checks every module that calls `re.search` is covered.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

import regex

FILE_BUDGET_S = 2.0
"""Time all the schema regexes of one file may take together."""

DEFAULT_BUDGET_S = 0.5
"""Time one match may take outside `budget()` (a caller that did not set one)."""

_deadline: ContextVar[float | None] = ContextVar("attune_sync_pattern_deadline", default=None)


class PatternBudgetExceeded(Exception):
    """Matching a schema's regexes took longer than the budget."""


class BadPattern(Exception):
    """A schema regex that does not compile."""

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"{pattern!r} is not a valid regular expression: {reason}")
        self.pattern = pattern
        self.reason = reason


@contextmanager
def budget(seconds: float = FILE_BUDGET_S) -> Iterator[None]:
    """Matches inside share `seconds`; a nested budget never extends an outer one."""
    outer = _deadline.get()
    deadline = time.monotonic() + seconds
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> Any:
    """The compiled pattern. Raises BadPattern."""
    try:
        return regex.compile(pattern)
    except (regex.error, TypeError, ValueError, OverflowError, RecursionError) as error:
        raise BadPattern(pattern, str(error)) from None


def search(pattern: Any, text: Any, flags: int = 0) -> Any:
    """`re.search` for schema patterns, within the current budget."""
    if flags or not isinstance(pattern, str) or not isinstance(text, str):
        return re.search(pattern, text, flags)  # not a schema pattern: jsonschema's own use
    deadline = _deadline.get()
    remaining = DEFAULT_BUDGET_S if deadline is None else deadline - time.monotonic()
    if remaining <= 0:
        raise PatternBudgetExceeded
    try:
        return compiled(pattern).search(text, timeout=remaining)
    except TimeoutError:
        raise PatternBudgetExceeded from None


class _BudgetedRe(ModuleType):
    """The `re` module with `search` matched under the budget."""

    def __init__(self) -> None:
        super().__init__("re", "re, with schema patterns matched under a time budget")
        self.search = search

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)


BUDGETED_RE = _BudgetedRe()

PATCHED_MODULES = ("jsonschema._keywords", "jsonschema._utils", "jsonschema._legacy_keywords")


def install() -> None:
    """Make python-jsonschema match schema patterns through `search`."""
    import importlib

    for name in PATCHED_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "re", None) is re:
            module.re = BUDGETED_RE  # type: ignore[attr-defined]
