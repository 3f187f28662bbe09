"""A failed statement's error text never carries the bound parameters (pack config)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from attune_sync.db import schema as t

SECRET = "hunter2-SECRET"


def test_a_failed_insert_does_not_show_its_parameters(engine: Engine) -> None:
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(
            t.pack.insert(),
            [
                {"ref": "a", "label": "A", "description": "d", "config": {"pw": SECRET}},
                {"ref": "a", "label": "A", "description": "d", "config": {"pw": SECRET}},
            ],
        )
    text = str(caught.value) + repr(caught.value)
    assert "uq_pack_ref" in text or "UNIQUE" in text.upper()
    assert SECRET not in text
