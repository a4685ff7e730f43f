"""Alembic's environment for sigverify: always run by ``sigverify.core.migrations.upgrade`` with the
Store's own connection, inside the Store's transaction (PostgreSQL: the whole upgrade commits or
none of it does)."""

from alembic import context

from sigverify.core.store import metadata

connection = context.config.attributes["connection"]
# render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table instead
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
