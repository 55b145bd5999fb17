"""Alembic environment: run on the connection :func:`office.db.migrate` hands over (no ini file needed)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through office.db.migrate
    raise RuntimeError("run the office migrations with `dukcapil-office migrate` (office.db.migrate)")

if connection.dialect.name == "postgresql":
    # Two office-service processes starting at once on one database: one migrates, the other waits and
    # then finds the schema at head. The lock ends with the transaction.
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4242011)")

context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
context.run_migrations()
