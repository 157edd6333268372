"""Alembic, driven from code (``utilipay.runtime.install`` adds what the areas load after)."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from utilipay.db.engine import ensure_database


def alembic_config(url: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", "utilipay:migrations")
    config.attributes["url"] = url
    return config


def upgrade_schema(url: URL, revision: str = "head") -> None:
    """Create the database if needed and bring its schema to ``revision``."""
    asyncio.run(ensure_database(url))
    command.upgrade(alembic_config(url), revision)


def downgrade(url: URL, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
