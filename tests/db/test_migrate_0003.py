"""Migration 0003 (Attune's pack format): an upgrade from 0002 keeps every row."""

from __future__ import annotations

from sqlalchemy import text

from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import current_revision, downgrade, head_revision, upgrade
from attune_sync.db.state import load_actual

_ROWS_AT_0002 = [
    "INSERT INTO pack (ref, label, description, tags, runtime_deps, is_standard) "
    "VALUES ('p', 'P', 'd', '[]', '[1]', false)",
    "INSERT INTO trigger (ref, pack, pack_ref, label, enabled) "
    "VALUES ('p.t', (SELECT id FROM pack WHERE ref = 'p'), 'p', 'T', true)",
    "INSERT INTO sensor (ref, pack, pack_ref, label, description, entrypoint, runtime, "
    "runtime_ref, \"trigger\", trigger_ref, enabled) VALUES ('p.s', "
    "(SELECT id FROM pack WHERE ref = 'p'), 'p', 'S', 'd', 'run', 1, 'shell', "
    "(SELECT id FROM trigger WHERE ref = 'p.t'), 'p.t', true)",
    "INSERT INTO action (ref, pack, pack_ref, label, entrypoint, runtime) "
    "VALUES ('p.a', (SELECT id FROM pack WHERE ref = 'p'), 'p', 'A', 'a.sh', 1)",
    'INSERT INTO rule (ref, pack, pack_ref, label, action, action_ref, "trigger", '
    "trigger_ref, enabled) VALUES ('p.r', (SELECT id FROM pack WHERE ref = 'p'), 'p', 'R', "
    "(SELECT id FROM action WHERE ref = 'p.a'), 'p.a', "
    "(SELECT id FROM trigger WHERE ref = 'p.t'), 'p.t', true)",
]


def test_upgrade_from_0002_keeps_every_row_and_links_each_sensor(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as conn:
            for statement in _ROWS_AT_0002:
                conn.execute(text(statement))
        upgrade(engine)
        assert current_revision(engine) == head_revision()  # 0003 and every later one
        with engine.connect() as conn:
            actual = load_actual(conn)
            links = conn.execute(
                text("SELECT sensor_ref, trigger_ref, position FROM sensor_trigger")
            ).all()
        assert links == [("p.s", "p.t", 0)]
        assert actual.sensors["p.s"].values["trigger_refs"] == ["p.t"]
        assert actual.sensors["p.s"].values["config"] is None
        action = actual.actions["p.a"].values
        assert (action["runtime_ref"], action["entrypoint"], action["parameter_delivery"]) == (
            "shell",
            "a.sh",
            "stdin",
        )
        assert (action["parameter_format"], action["output_format"]) == ("json", "text")
        rule = actual.rules["p.r"].values
        assert (rule["trigger_ref"], rule["action_ref"], rule["conditions"]) == ("p.t", "p.a", None)
        assert set(actual.runtime_rows) == {"shell", "python3", "nodejs", "native"}
        assert actual.runtime_rows["shell"].values["pack_ref"] is None
        assert actual.packs["p"].values["runtime_deps"] == [1]
        downgrade(engine, "0002")
        with engine.connect() as conn:
            counts = [
                conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in ("pack", "trigger", "sensor", "action", "rule")
            ]
        assert counts == [1, 1, 1, 1, 1]
    finally:
        engine.dispose()
