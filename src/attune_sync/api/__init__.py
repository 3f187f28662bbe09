"""`attune-sync serve`: the seeds' REST API over the synced database, aware of managed files.

Modules: `app` builds the ASGI application (middleware, errors, health), `routes_packs` and
`routes_components` hold the endpoints, `queries` every read, `writes` every write (each
one transaction through `db.write_transaction`), `validation` the adapter onto the file
validator, `shapes` the seeds' JSON bodies, `auth` the bearer tokens, `commands` the CLI.
"""
