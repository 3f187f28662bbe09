"""Fixtures for CLI tests (helpers live in core.trees so CLI tests can share them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.trees import write_tree


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """`make_tree({relpath: text})` writes a packs tree under tmp_path/packs."""

    def build(files: dict[str, str]) -> Path:
        return write_tree(tmp_path / "packs", files)

    return build
