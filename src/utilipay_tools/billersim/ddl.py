"""Creating the simulator's schema at start-up, idempotently, and dropping it.

A stand-in for a utility's own system is not migrated with the hub: it creates
what is missing (``IF NOT EXISTS``) each time it starts.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, CreateSchema, CreateSequence, CreateTable, DropSchema

from utilipay_tools.billersim.tables import SimTables, check_schema_name, tables_for


async def prepare_schema(conn: AsyncConnection, schema: str) -> SimTables:
    """Create the schema, its tables and indexes where missing; the tables of ``schema``."""
    tables = tables_for(schema)
    # ``IF NOT EXISTS`` is not atomic against a concurrent CREATE of the same name:
    # simulators starting together take turns.
    lock_key = func.hashtextextended(f"utilipay_tools.billersim.ddl:{schema}", 0)
    await conn.execute(select(func.pg_advisory_xact_lock(lock_key)))
    await conn.execute(CreateSchema(schema, if_not_exists=True))
    await conn.execute(CreateSequence(tables.serials, if_not_exists=True))
    for table in (tables.accounts, tables.orders, tables.bills):  # referenced ones first
        await conn.execute(CreateTable(table, if_not_exists=True))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            await conn.execute(CreateIndex(index, if_not_exists=True))
    return tables


async def drop_schema(conn: AsyncConnection, schema: str) -> None:
    """Remove the schema and everything in it (tests, resetting a demo)."""
    await conn.execute(DropSchema(check_schema_name(schema), cascade=True, if_exists=True))
