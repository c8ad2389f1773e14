"""Alembic environment: migrations run on the connection `persistence.control.migrate` hands in (online only)."""

from alembic import context

from persistence.control.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
