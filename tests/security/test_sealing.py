"""Secrets at rest: sealed in the database, opened by the hub, rotated, refused with a clear
message when the key is not the one they were sealed with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.channels import repository as channels_repo
from utilipay.config import get_settings
from utilipay.security.sealing import PREFIX, SealingError, key_spec, seal, unseal

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    get_settings.cache_clear()


def use(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    monkeypatch.setenv("UTILIPAY_SECRETS_KEY", spec)
    get_settings.cache_clear()


async def stored(engine: AsyncEngine) -> tuple[str, str | None]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT secret, previous_secret FROM channels WHERE code = 'WECHAT'")
            )
        ).one()
    return row.secret, row.previous_secret


async def test_channel_secrets_are_sealed_in_the_database_and_open_in_the_hub(
    engine: AsyncEngine, world: dict[str, object]
) -> None:
    raw, _ = await stored(engine)
    assert raw.startswith(PREFIX) and "test-wechat-secret" not in raw
    async with engine.connect() as conn:
        channel = await channels_repo.by_code(conn, "WECHAT")
    assert channel is not None and channel.secret == "test-wechat-secret-0123456789"


def test_rotation_the_first_key_seals_every_key_opens(keys: pytest.MonkeyPatch) -> None:
    use(keys, OLD)
    sealed_before = seal("utility-key-0123456789")
    use(keys, f"{NEW},{OLD}")
    assert unseal(sealed_before) == "utility-key-0123456789"
    sealed_now = seal("utility-key-0123456789")
    use(keys, NEW)  # the old key retired: what the new one sealed still opens
    assert unseal(sealed_now) == "utility-key-0123456789"
    with pytest.raises(SealingError, match="sealed with another key"):
        unseal(sealed_before)


def test_a_value_stored_before_sealing_reads_as_it_is(keys: pytest.MonkeyPatch) -> None:
    use(keys, NEW)
    assert unseal("plain-secret-0123456789") == "plain-secret-0123456789"


def test_a_bad_key_is_a_clear_error(keys: pytest.MonkeyPatch) -> None:
    use(keys, "not-a-fernet-key")
    with pytest.raises(SealingError, match="must be Fernet keys"):
        seal("x")


def test_without_a_key_one_is_made_once_for_the_owner_only(
    keys: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keys.delenv("UTILIPAY_SECRETS_KEY", raising=False)
    keys.setenv("UTILIPAY_HOME", str(tmp_path))
    get_settings.cache_clear()
    first = key_spec()
    assert key_spec() == first  # the same key on every call, in every process
    assert (tmp_path / "secrets.key").stat().st_mode & 0o777 == 0o600
    assert unseal(seal("head-end-secret-0123456789")) == "head-end-secret-0123456789"
    use(keys, first)  # what a child process is given (processes.environment_for)
    assert unseal(seal("x")) == "x"
