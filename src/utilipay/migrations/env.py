"""Alembic environment.

Migrations run over psycopg (synchronous): DDL scripts hold many statements,
which asyncpg's prepared statements refuse.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from utilipay.migrations.schema import metadata

url = context.config.attributes["url"].set(drivername="postgresql+psycopg")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
