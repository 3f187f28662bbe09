"""docs/pack-format.md: its key tables come from fields.TABLES, and its example pack is valid."""

from __future__ import annotations

import re
from pathlib import Path

from attune_sync.fields import TABLES
from attune_sync.formatdoc import BEGIN, END, generated
from attune_sync.model import ActualState
from attune_sync.reader import read_tree
from attune_sync.settle import settle
from core.trees import write_tree

DOC = Path(__file__).resolve().parents[2] / "docs" / "pack-format.md"


def test_docs_hold_the_generated_key_tables() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert section == generated(), "run `python -m attune_sync.formatdoc` and paste the output"


def test_every_key_and_alias_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for table in TABLES.values():
        assert f"### {table.kind} " in text
        for field in table:
            for name in field.names:
                assert f"`{name}`" in text, (table.kind, name)


def test_the_example_pack_is_valid(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    example = text[text.index("## A complete example pack") :]
    files = dict(re.findall(r"`packs/([^`]+)`:\n\n```yaml\n(.*?)```", example, re.S))
    assert len(files) == 6
    root = write_tree(tmp_path / "packs", files)
    actual = ActualState(runtimes={"shell": 1, "python3": 2, "nodejs": 3, "native": 4})
    actual.packs["core"] = actual.packs.get("core") or _core()
    settled = settle(read_tree(root), actual)
    assert settled.invalid == []
    assert settled.warnings == []
    assert set(settled.valid["tools"].rules) == {"tools.on_tick"}


def _core():  # type: ignore[no-untyped-def]
    from attune_sync.model import ActualObject

    return ActualObject(1, "core", {})
