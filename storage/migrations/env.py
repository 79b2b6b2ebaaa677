"""Alembic environment: migrations always run on a connection the application hands over
(`storage.db.Database.upgrade`), so they share its engine, driver and event loop."""

from alembic import context

from storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `piazzabot db upgrade`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
