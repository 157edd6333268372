"""Binding an account, as the API and the payer pages both do it: the account checked
against the utility's rule, an existing binding returned, else the utility asked to confirm
the account (outside any transaction: a remote one may take seconds) and the binding saved.
Where binding verification (channel-api.md §13) will check the holder or a code."""

from __future__ import annotations

from utilipay.accounts.connector import AccountsHost
from utilipay.billers.schemas import Biller
from utilipay.bindings import service
from utilipay.bindings.service import BindResult
from utilipay.channels.schemas import Channel


async def bind(
    hub: AccountsHost, channel: Channel, biller: Biller, payer: str, account_no: str
) -> BindResult:
    biller.rule.check(biller.code, account_no)
    async with hub.engine.connect() as conn:
        existing = await service.live_binding(conn, channel, biller, payer, account_no)
    if existing is not None:
        return BindResult(existing, created=False)
    account = await hub.connectors.for_biller(biller).query(hub.engine, biller, account_no)
    async with hub.engine.begin() as conn:
        return await service.save_binding(
            conn, hub.clock, channel, biller, payer, account_no, account.holder
        )
