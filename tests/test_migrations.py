"""Migrations build the schema (never ``create_all``), undo cleanly, and match the code's tables."""

from __future__ import annotations

import asyncio
import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import URL

from utilipay.db.engine import drop_database
from utilipay.db.migrate import downgrade, upgrade
from utilipay.schema import metadata
from utilipay.security.sealing import PREFIX, unseal


def _sync(url: URL) -> URL:
    return url.set(drivername="postgresql+psycopg")


def test_the_code_tables_match_the_migrated_schema(db_url: URL) -> None:
    engine = create_engine(_sync(db_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        changes = []
        for d in compare_metadata(context, metadata):
            changes.extend(d if isinstance(d, list) else [d])  # column changes come in lists
        # indexes, checks and triggers live in the migrations only
        diff = [
            c
            for c in changes
            if c[0] not in {"add_index", "remove_index"}
            # procrastinate's tables are its own (migration 0004 installs them)
            and not (c[0] == "remove_table" and c[1].name.startswith("procrastinate"))
        ]
    engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade(db_url: URL) -> None:
    scratch = db_url.set(database=f"utilipay_migrations_{os.getpid()}")
    asyncio.run(drop_database(scratch))
    try:
        upgrade(scratch)
        engine = create_engine(_sync(scratch), poolclass=pool.NullPool)
        assert "payments" in inspect(engine).get_table_names()
        downgrade(scratch, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(scratch)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        engine.dispose()
    finally:
        asyncio.run(drop_database(scratch))


def test_secrets_stored_before_sealing_are_sealed_by_the_upgrade(db_url: URL) -> None:
    scratch = db_url.set(database=f"utilipay_sealing_{os.getpid()}")
    asyncio.run(drop_database(scratch))
    try:
        upgrade(scratch, "0016")
        engine = create_engine(_sync(scratch), poolclass=pool.NullPool)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO channels (code, name, secret, previous_secret, created_at)"
                    " VALUES ('OLD', 'old', 'plain-secret-0123456789', NULL, now())"
                )
            )
        upgrade(scratch)
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT secret FROM channels")).scalar_one()
        assert raw.startswith(PREFIX) and unseal(raw) == "plain-secret-0123456789"
        downgrade(scratch, "0016")
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT secret FROM channels")).scalar_one()
        assert raw == "plain-secret-0123456789"
        engine.dispose()
    finally:
        asyncio.run(drop_database(scratch))
