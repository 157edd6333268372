"""E-mail over real SMTP (aiosmtpd), the signed SMS gateway, the log file, and the settings."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bill_line, import_bills
from tests.notify.test_notify_support import dispatch, queued, set_contacts
from tests.receivers import receiver
from utilipay.clock import FrozenClock
from utilipay.common import outgoing
from utilipay.config import get_settings
from utilipay.notify.delivery import deliver_due_notifications
from utilipay.notify.providers import build_providers
from utilipay.notify.providers.email import SmtpProvider
from utilipay.notify.providers.logfile import LogFileProvider
from utilipay.notify.providers.sms import SmsGateway
from utilipay.notify.settings import NotifySettings
from utilipay.web.server import free_port

EMAIL = "zhangsan@example.com"
PHONE = "+8613800138000"
SMTP_PASSWORD = "smtp-password-never-shown"
SMS_SECRET = "sms-secret-never-shown-0123"


@pytest.fixture
async def outbound() -> AsyncIterator[httpx.AsyncClient]:
    client = outgoing.http_client(10.0, 3.0)
    yield client
    await client.aclose()


@dataclass
class Inbox:
    """An SMTP server's handler: keeps what arrives."""

    envelopes: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    good = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"hub",
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=good, handled=False)  # not handled: the server answers 535


@contextmanager
def smtp_server(**options: Any) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def _a_bill_for_the_holder(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, *, language: str = "zh-CN"
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await set_contacts(engine, ACCOUNT, phone=PHONE, email=EMAIL, language=language)
    assert await dispatch(engine, clock, hub) == 1


def _settings(tmp_path: Path, **values: Any) -> NotifySettings:
    base: dict[str, Any] = {"notify_log": tmp_path / "notifications.log", "smtp_host": None}
    return NotifySettings(**{"sms_url": None, **base, **values})


async def _log(engine: AsyncEngine, kind: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT a.provider, a.destination, a.acknowledged, a.status_code, a.error"
                " FROM notification_attempts a JOIN notifications n"
                "   ON n.biller_id = a.biller_id AND n.id = a.notification_id"
                " WHERE n.recipient_kind = :kind ORDER BY a.attempt"
            ),
            {"kind": kind},
        )
        return [tuple(r) for r in rows]


async def test_email_is_sent_over_smtp_with_login(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    outbound: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    await _a_bill_for_the_holder(engine, clock, hub)
    with smtp_server(authenticator=_authenticate, auth_require_tls=False) as (inbox, port):
        settings = _settings(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_from="bills@utilipay.example",
            smtp_username="hub",
            smtp_password=SMTP_PASSWORD,
        )
        providers = build_providers(settings, outbound, hub.directory.channel_by_id)
        assert isinstance(providers["email"], SmtpProvider)
        done = await deliver_due_notifications(engine, clock, providers)
    assert done.results == {"sent": 2}  # the e-mail, and the SMS to the log file
    (envelope,) = inbox.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("bills@utilipay.example", [EMAIL])
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    sent = next(n for n in await queued(engine) if n.recipient_kind == "email")
    assert mail["Subject"] == sent.own_subject == "北京自来水2026年10月账单已出"
    assert mail["Message-ID"] == f"<{sent.id}@utilipay.example>"
    assert mail.get_content().strip() == sent.own_text
    assert "应缴123.45元" in mail.get_content()
    assert await _log(engine, "email") == [("smtp", f"smtp://127.0.0.1:{port}", True, None, None)]


async def test_a_refused_login_is_retried_without_showing_the_password(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    outbound: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    await _a_bill_for_the_holder(engine, clock, hub)
    with smtp_server(authenticator=_authenticate, auth_require_tls=False) as (inbox, port):
        settings = _settings(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_username="hub",
            smtp_password="not-the-password",
        )
        providers = build_providers(settings, outbound, hub.directory.channel_by_id)
        assert (await deliver_due_notifications(engine, clock, providers)).results == {
            "retry": 1,
            "sent": 1,
        }
    assert inbox.envelopes == []
    ((provider, _, acknowledged, _, error),) = await _log(engine, "email")
    assert (provider, acknowledged) == ("smtp", False)
    assert "SMTPAuthenticationError" in error and "not-the-password" not in error


async def test_sms_goes_to_the_gateway_signed(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    outbound: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    await _a_bill_for_the_holder(engine, clock, hub, language="en")
    with receiver(502) as gateway:
        settings = _settings(tmp_path, sms_url=gateway.url, sms_secret=SMS_SECRET)
        providers = build_providers(settings, outbound, hub.directory.channel_by_id)
        assert isinstance(providers["sms"], SmsGateway)
        first = await deliver_due_notifications(engine, clock, providers)
        assert first.results == {"retry": 1, "sent": 1}  # the gateway failed; e-mail to the log
        clock.advance(timedelta(seconds=5))  # the first retry comes within 5 s
        assert (await deliver_due_notifications(engine, clock, providers)).results == {"sent": 1}
    first_try, second_try = gateway.received
    sms = next(n for n in await queued(engine) if n.recipient_kind == "sms")
    assert json.loads(second_try.body) == {"id": sms.id, "to": PHONE, "text": sms.own_text}
    assert first_try.body == second_try.body  # the same message, the gateway dedupes on id
    assert sms.language == "en" and "123.45 yuan" in sms.own_text
    timestamp = second_try.headers["x-utilipay-timestamp"]
    assert int(timestamp) == int(clock.now().timestamp())
    expected = hmac.new(
        SMS_SECRET.encode(), timestamp.encode() + b"\n" + second_try.body, hashlib.sha256
    ).hexdigest()
    assert second_try.headers["x-utilipay-signature"] == expected
    destination = gateway.url.split("?")[0]  # the query is left out of the log
    assert [(r[0], r[1], r[2], r[3]) for r in await _log(engine, "sms")] == [
        ("sms-gateway", destination, False, 502),
        ("sms-gateway", destination, True, 200),
    ]


async def test_without_gateways_email_and_sms_go_to_the_log_file(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    outbound: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    await _a_bill_for_the_holder(engine, clock, hub)
    path = tmp_path / "logs" / "notifications.log"
    settings = _settings(tmp_path, notify_log=path)
    providers = build_providers(settings, outbound, hub.directory.channel_by_id)
    assert isinstance(providers["email"], LogFileProvider)
    assert isinstance(providers["sms"], LogFileProvider)
    assert (await deliver_due_notifications(engine, clock, providers)).results == {"sent": 2}
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    sent = {n.recipient_kind: n for n in await queued(engine)}
    assert sorted(lines, key=lambda line: line["kind"]) == [
        {
            "id": sent[kind].id,
            "at": "2026-11-22T15:30:00+08:00",
            "kind": kind,
            "to": to,
            "template": "bill.issued",
            "language": "zh-CN",
            "subject": sent[kind].own_subject,
            "text": sent[kind].own_text,
        }
        for kind, to in (("email", EMAIL), ("sms", PHONE))
    ]
    assert {r[:3] for r in await _log(engine, "sms")} == {("log-file", str(path), True)}


def test_the_log_file_is_in_the_home_by_default() -> None:
    settings = NotifySettings(notify_log=None)
    assert settings.log_path == get_settings().home / "notifications.log"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UTILIPAY_SMTP_HOST", "mail.example")
    monkeypatch.setenv("UTILIPAY_SMTP_STARTTLS", "true")
    monkeypatch.setenv("UTILIPAY_NOTIFY_GIVE_UP_AFTER", "PT6H")
    monkeypatch.setenv("UTILIPAY_REMIND_DAYS_BEFORE", "5")
    settings = NotifySettings()
    assert (settings.smtp_host, settings.smtp_starttls) == ("mail.example", True)
    assert settings.notify_give_up_after.total_seconds() == 6 * 3600
    assert settings.remind_days_before == 5


async def test_secrets_never_show(tmp_path: Path, outbound: httpx.AsyncClient) -> None:
    settings = _settings(
        tmp_path,
        smtp_host="mail.example",
        smtp_username="hub",
        smtp_password=SMTP_PASSWORD,
        sms_url="https://sms.example/send",
        sms_secret=SMS_SECRET,
    )
    providers = build_providers(settings, outbound, lambda _: None)
    for shown in (repr(settings), str(settings), repr(providers)):
        assert SMTP_PASSWORD not in shown and SMS_SECRET not in shown


def test_an_sms_gateway_needs_its_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="UTILIPAY_SMS_SECRET"):
        _settings(tmp_path, sms_url="https://sms.example/send")


async def test_starttls_when_asked_is_required_not_skipped(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    outbound: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    await _a_bill_for_the_holder(engine, clock, hub)
    with smtp_server() as (inbox, port):  # a server that offers no STARTTLS
        settings = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=True)
        providers = build_providers(settings, outbound, hub.directory.channel_by_id)
        await deliver_due_notifications(engine, clock, providers)
    assert inbox.envelopes == []  # nothing went in clear text
    ((_, _, acknowledged, _, error),) = await _log(engine, "email")
    assert not acknowledged and "STARTTLS" in error
