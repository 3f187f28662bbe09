"""Which runtime a `runner_type`, `runtime_ref` or `runtime_deps` entry names.

Order (docs/pack-format.md, "Runtime resolution"): an exact runtime ref; then Attune's runner
map to its core runtimes (`python` -> `core.python`) when that runtime exists; then the
built-in runtimes, by ref or through the same map (`python` -> `python3`), so a pack without
runtimes of its own still resolves `runner_type: standalone` or `python`.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_RUNNER_FAMILIES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("shell", "bash", "sh"), ("core.shell", "shell")),
    **dict.fromkeys(("python", "python3"), ("core.python", "python3")),
    **dict.fromkeys(("node", "nodejs", "node.js"), ("core.nodejs", "nodejs")),
    **dict.fromkeys(("native", "builtin", "standalone"), ("core.native", "native")),
}
"""Runner name -> (Attune's core runtime ref, attune-sync's built-in runtime ref)."""


def split_constraint(entry: str) -> tuple[str, str]:
    """`nodejs>=22` -> (`nodejs`, `>=22`); an entry without a constraint -> (entry, "")."""
    name = re.split(r"[\s<>=!~^@]", entry, maxsplit=1)[0]
    return name, entry[len(name) :].strip()


def resolve_runtime(name: str, known: Collection[str]) -> str | None:
    """The ref of the runtime `name` stands for among the `known` refs, or None."""
    if name in known:
        return name
    family = _RUNNER_FAMILIES.get(name.lower())
    if family is None:
        return None
    core, builtin = family
    if core in known:
        return core
    if builtin in known:
        return builtin
    return None
