"""Secrets at rest: channel secrets, biller keys and head-end secrets are sealed in the
database (Fernet: AES-128-CBC with HMAC-SHA256, from the maintained ``cryptography``),
so a database dump or backup does not hand out the keys that sign money calls.

The key comes from ``UTILIPAY_SECRETS_KEY`` (several, comma-separated, while rotating:
the first seals, every one unseals), or, when it is unset, from ``secrets.key`` under
``UTILIPAY_HOME``, generated once, readable by its owner only: right for one machine
running the embedded server, while processes on several machines need the variable.

A value stored before sealing existed (no prefix) is read as it is, and sealed the
next time it is written.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from utilipay.config import get_settings

PREFIX = "sealed:v1:"
KEY_FILE = "secrets.key"


class SealingError(RuntimeError):
    """A sealed secret that none of the configured keys opens."""


def _key_file(home: Path) -> bytes:
    path = home / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    home.mkdir(parents=True, exist_ok=True)
    # Written aside and linked into place: another process starting at the same moment
    # either links first (and this one reads its key) or finds the complete file.
    draft = home / f".{KEY_FILE}.{os.getpid()}"
    fd = os.open(draft, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_bytes().strip()


@lru_cache(maxsize=4)
def _fernet(spec: str, home: Path) -> MultiFernet:
    keys = [k.strip().encode() for k in spec.split(",") if k.strip()] or [_key_file(home)]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError:
        raise SealingError(
            "UTILIPAY_SECRETS_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated"
        ) from None


def _keys() -> MultiFernet:
    settings = get_settings()
    return _fernet(settings.secrets_key, settings.home)


def key_spec() -> str:
    """The keys this process seals and unseals with, as ``UTILIPAY_SECRETS_KEY`` takes
    them: what a child process needs to read the same database."""
    settings = get_settings()
    return settings.secrets_key or _key_file(settings.home).decode()


def seal(secret: str) -> str:
    return PREFIX + _keys().encrypt(secret.encode()).decode()


def unseal(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # stored before sealing: sealed when next written
    try:
        return _keys().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SealingError(
            "a secret in the database was sealed with another key: set UTILIPAY_SECRETS_KEY "
            "to that key (or list it after the new one while rotating)"
        ) from None


class SealedText(TypeDecorator[str]):
    """A text column holding a sealed secret: sealed on the way in, unsealed on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value)
