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


def many_files_tree(root: Path, packs: int = 10, triggers: int = 30) -> Path:
    """A tree with enough files that a read parses them in worker processes (`parse_ahead`
    starts a pool from 256), one invalid file in every third pack."""
    files: dict[str, str] = {}
    for number in range(packs):
        ref = f"bulk{number}"
        files[f"{ref}/pack.yaml"] = pack_doc(ref)
        for index in range(triggers):
            files[f"{ref}/triggers/t{index}.yaml"] = trigger_doc(f"Trigger {index} of {ref}")
        files[f"{ref}/sensors/s.yaml"] = sensor_doc(f"{ref}.t0")
        if number % 3 == 0:
            files[f"{ref}/triggers/t1.yaml"] = trigger_doc(extra="enabled: yes\n")
    return write_tree(root, files)
