"""Helpers shared by core and CLI tests: pack trees from {relpath: text}, usual documents."""

from __future__ import annotations

from pathlib import Path


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create `files` (relpath -> text) under `root` and return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def pack_doc(ref: str, label: str | None = None, extra: str = "") -> str:
    return f"ref: {ref}\nlabel: {label or ref.title()}\ndescription: The {ref} pack\n{extra}"


def trigger_doc(label: str = "A trigger", extra: str = "") -> str:
    return f"label: {label}\ndescription: fires\n{extra}"


def sensor_doc(trigger_ref: str, label: str = "A sensor", runtime: str = "shell") -> str:
    return (
        f"label: {label}\ndescription: watches\nentrypoint: /sensors/s.py\n"
        f"runtime_ref: {runtime}\ntrigger_ref: {trigger_ref}\n"
    )
