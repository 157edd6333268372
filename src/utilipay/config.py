"""Process settings, read once from the environment (prefix ``UTILIPAY_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UTILIPAY_", extra="ignore")

    # A real PostgreSQL (any URL SQLAlchemy or libpq understands). Unset: the
    # embedded server shipped as a wheel, with its data under ``home``.
    database_url: str | None = None
    home: Path = Path(platformdirs.user_data_dir("utilipay"))
    # The database the hub uses on the embedded server.
    database_name: str = "utilipay"
    log_level: str = "INFO"
    # A JSON line per HTTP request on the server's stderr (api/access_log.py).
    access_log: bool = True
    # Connections each server process keeps; two uvicorn workers on two cores
    # saturate PostgreSQL with about eight each.
    pool_size: int = 8
    # Hosted-payment batches each process keeps in flight at once (and as many batches of
    # voucher redemptions, vouchers/redeem.py). Fewer means larger batches (fewer
    # commits); more means more parallelism. Since a batch is written a
    # statement per table (payments/sql/batches.sql), most of its cost is fixed and one
    # batch per process paid best: `bench payments` 1.24 × pgbench with 1, 0.88 with 2,
    # 0.76 with 3, and `bench latency` at 1,000/s p99 28 ms with 1, 29 ms with 2
    # (BENCHMARKS.md, "a batch of payments written set-wise"); with one server process,
    # 2 in flight gave p99 325 ms at 2,000/s where 1 gave 21–58 ms ("... or two"), and
    # the channel's line 0.76–0.78 × pgbench where 1 gave 1.43–1.66 ("... not kept").
    payment_batches_in_flight: int = 1
    # Fernet keys (comma-separated, the first seals, all unseal) for the secrets kept in
    # the database. Empty: a key generated once in ``home/secrets.key``.
    secrets_key: str = ""
    # A caller (a channel code from one address, or an address naming no channel) that
    # fails to authenticate this many times within the window is refused with 429 for
    # the block's seconds, in each server process (channels/ratelimit.py).
    auth_failure_limit: int = 20
    auth_failure_window: float = 60.0
    auth_failure_block: float = 300.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
