"""How notifications leave the hub, read from the environment (prefix ``UTILIPAY_``).

Without an SMTP host or an SMS gateway, e-mail and SMS go to the log file
(``UTILIPAY_NOTIFY_LOG``, default ``<UTILIPAY_HOME>/notifications.log``), so an
operator sees what would have been sent. Secrets are ``SecretStr``: they never
show in a repr, a log line or a traceback.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from utilipay.config import get_settings


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UTILIPAY_", extra="ignore")

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "utilipay@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # Upgrade with STARTTLS (and refuse to send if the server cannot); off: plain SMTP.
    smtp_starttls: bool = False
    sms_url: str | None = None
    sms_secret: SecretStr | None = None
    notify_log: Path | None = None
    # Seconds or ISO 8601 ("PT24H"); a message still unsent by then is given up.
    notify_give_up_after: timedelta = timedelta(hours=24)
    remind_days_before: int = Field(default=3, ge=0)

    @model_validator(mode="after")
    def _gateway_needs_its_secret(self) -> Self:
        if self.sms_url and not (self.sms_secret and self.sms_secret.get_secret_value()):
            raise ValueError("UTILIPAY_SMS_URL needs UTILIPAY_SMS_SECRET to sign its requests")
        return self

    @property
    def log_path(self) -> Path:
        return self.notify_log or get_settings().home / "notifications.log"


@lru_cache(maxsize=1)
def get_notify_settings() -> NotifySettings:
    return NotifySettings()
