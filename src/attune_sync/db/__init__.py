"""The database edge: schema, engines, migrations, reading actual state and applying plans."""
