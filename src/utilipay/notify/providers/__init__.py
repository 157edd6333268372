"""The providers a worker delivers with, by recipient kind, from the settings: the
channel's webhook always; e-mail and SMS through their gateways when configured,
otherwise to the log file."""

from __future__ import annotations

import httpx

from utilipay.notify.providers.base import Provider
from utilipay.notify.providers.channel import ChannelProvider
from utilipay.notify.providers.email import SmtpProvider
from utilipay.notify.providers.logfile import LogFileProvider
from utilipay.notify.providers.sms import SmsGateway
from utilipay.notify.recipients import ChannelById
from utilipay.notify.settings import NotifySettings


def build_providers(
    settings: NotifySettings, http: httpx.AsyncClient, channel_by_id: ChannelById
) -> dict[str, Provider]:
    log_file = LogFileProvider(settings.log_path)
    return {
        "channel": ChannelProvider(http, channel_by_id),
        "email": SmtpProvider.from_settings(settings) or log_file,
        "sms": SmsGateway.from_settings(settings, http) or log_file,
    }
