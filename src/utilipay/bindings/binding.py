"""Binding an account, as the API and the payer pages both do it (§4, §13): the account
checked against the utility's rule; an existing binding returned as it is, or made verified
by a proof that holds; else the utility's mode checked, the utility asked to confirm the
account (outside any transaction: a remote one may take seconds) and the binding saved,
verified when a proof was given and holds. A proof that does not hold is refused after
its attempt is counted (committed), so guessing costs tries."""

from __future__ import annotations

from utilipay.accounts.connector import AccountsHost
from utilipay.billers.schemas import Biller
from utilipay.bindings import service
from utilipay.bindings.schemas import VerificationRequest
from utilipay.bindings.service import BindResult
from utilipay.bindings.verification import check_mode, proof_passes, wrong_proof
from utilipay.channels.schemas import Channel


async def bind(
    hub: AccountsHost,
    channel: Channel,
    biller: Biller,
    payer: str,
    account_no: str,
    verification: VerificationRequest | None = None,
) -> BindResult:
    biller.rule.check(biller.code, account_no)
    async with hub.engine.connect() as conn:
        existing = await service.live_binding(conn, channel, biller, payer, account_no)
    if existing is not None and verification is None:
        return BindResult(existing, created=False)
    if existing is not None:
        holder = existing.holder
    else:
        check_mode(biller, verification)
        account = await hub.connectors.for_biller(biller).query(hub.engine, biller, account_no)
        holder = account.holder
    async with hub.engine.begin() as conn:
        result = None
        if verification is None or await proof_passes(
            conn, hub.clock, channel, biller, payer, account_no, verification
        ):
            result = await service.save_binding(
                conn, hub.clock, channel, biller, payer, account_no, holder,
                verified=verification is not None,
            )  # fmt: skip
    if result is None:
        raise wrong_proof()
    return result
