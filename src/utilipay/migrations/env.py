"""Alembic environment.

Migrations run over psycopg (synchronous): DDL scripts hold many statements,
which asyncpg's prepared statements refuse. At the head, the areas' repeatable SQL
(``repeatable.py``) follows the versioned migrations, in their transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from utilipay.migrations import repeatable
from utilipay.migrations.schema import metadata

url = context.config.attributes["url"].set(drivername="postgresql+psycopg")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        migrations = context.get_context()
        before = set(migrations.get_current_heads())
        context.run_migrations()
        after = set(migrations.get_current_heads())
        if after == set(context.script.get_heads()):
            repeatable.apply(connection, everything=after != before)
engine.dispose()
