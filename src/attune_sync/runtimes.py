"""Which runtime a `runner_type`, `runtime_ref` or `runtime_deps` entry names.

Order (docs/pack-format.md, "Runtime resolution"):

1. an exact runtime ref (from the packs folder or the database);
2. Attune's runner map to its core runtimes (`python` -> `core.python`), when that runtime exists;
3. a runtime's alias (`aliases`, lower-cased);
4. a runtime's name, case-insensitively;
5. the built-in runtimes through the same map (`python` -> `python3`), so a pack folder
   without runtimes of its own still resolves `runner_type: standalone` or `python`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

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


@dataclass(slots=True)
class RuntimeIndex:
    refs: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def add(self, ref: str, name: str | None = None, aliases: Iterable[str] = ()) -> None:
        self.refs.add(ref)
        for alias in aliases:
            self.aliases.setdefault(alias.lower(), ref)
        if name:
            self.names.setdefault(name.lower(), ref)

    def resolve(self, name: str) -> str | None:
        """The ref of the runtime `name` stands for, or None."""
        if name in self.refs:
            return name
        lowered = name.lower()
        family = _RUNNER_FAMILIES.get(lowered)
        if family is not None and family[0] in self.refs:
            return family[0]
        found = self.aliases.get(lowered) or self.names.get(lowered)
        if found is not None:
            return found
        if family is not None and family[1] in self.refs:
            return family[1]
        return None


def resolve_runtime(name: str, known: Collection[str]) -> str | None:
    """`RuntimeIndex.resolve` over bare refs (no names or aliases known)."""
    return RuntimeIndex(set(known)).resolve(name)
