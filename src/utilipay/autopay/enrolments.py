"""Smart-payment enrolments (智能交费签约, channel-api.md §13): a payer of a channel signs a
prepaid account up for a reminder amount and, optionally, an automatic top-up.

An enrolment ties what other areas keep: the account's reminder amount is prepaid's
(one balance, one threshold, whoever set it last), the automatic top-up is an auto-pay
mandate with ``topup_amount`` signed and changed by ``mandates``' own rules. The
enrolment row gives the channel an opaque id for them, usable by that channel only.
Every step needs the payer's verified binding of the account at this channel
(``_binding_required``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict

from sqlalchemy import Row, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.autopay import mandates
from utilipay.autopay.schemas import (
    EnrolmentChange,
    EnrolmentRequest,
    FundingSource,
    Mandate,
    MandateChange,
    MandateRequest,
    MandateStatus,
)
from utilipay.autopay.tables import enrolments
from utilipay.billers.schemas import Biller
from utilipay.bindings.service import live_binding, verified_binding
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.prepaid import service as prepaid
from utilipay.prepaid.statements import Statement, issued_statement

_ACCOUNT_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    """A row of ``enrolments``: the enrolment's own columns."""

    biller_id: int
    id: str
    channel_id: int
    payer: str
    account_no: str
    mandate_id: str | None
    enrolled_at: datetime


def _row(row: Row[tuple[object, ...]]) -> EnrolmentRow:
    return EnrolmentRow(**{f: getattr(row, f) for f in EnrolmentRow.__slots__})


class Settings(TypedDict):
    """What an enrolment request sets, as compared for idempotency and audited."""

    reminder: int
    topup_amount: int | None
    funding_sources: list[dict[str, str]] | None


@dataclass(frozen=True, slots=True)
class Enrolment:
    id: str
    payer: str
    account: prepaid.PrepaidAccount
    mandate: Mandate | None  # the ACTIVE top-up mandate, if any
    enrolled_at: datetime


async def _binding_required(
    conn: AsyncConnection, channel: Channel, biller: Biller, payer: str, account_no: str
) -> None:
    """The one gate of this module: the payer's **verified** binding of the account at this
    channel (§13; unverified: 403 VERIFICATION_REQUIRED), held until the transaction ends."""
    if await verified_binding(conn, channel, biller, payer, account_no, hold=True) is None:
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"payer has no binding of {biller.code} account {account_no} at {channel.code}: "
            "bind the account first (POST /v1/bindings)",
        )


def _actor(channel: Channel) -> str:
    return f"channel:{channel.code}"


def _check_top_up_fields(topup_amount: int | None, sources: list[FundingSource] | None) -> None:
    if topup_amount is None and sources is not None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            "funding_sources are the automatic top-up's: give topup_amount with them",
        )
    if topup_amount is not None and sources is None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            "an automatic top-up needs funding_sources (1 to 5, in priority order)",
        )


async def _view(conn: AsyncConnection, biller: Biller, row: EnrolmentRow) -> Enrolment:
    account = await prepaid.find(conn, biller, row.account_no)
    if account is None:  # enrolled only once prepaid, and prepaid accounts stay
        raise RuntimeError(f"enrolment {row.id} has no prepaid account")
    mandate = None
    if row.mandate_id is not None:
        found = await mandates.find_any(conn, row.mandate_id)
        mandate = found if found.status is MandateStatus.ACTIVE else None
    return Enrolment(row.id, row.payer, account, mandate, row.enrolled_at)


def _settings(enrolment: Enrolment) -> Settings:
    mandate = enrolment.mandate
    return {
        "reminder": enrolment.account.reminder,
        "topup_amount": mandate.topup_amount if mandate else None,
        "funding_sources": [s.model_dump() for s in mandate.funding_sources] if mandate else None,
    }


async def enrol(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, request: EnrolmentRequest
) -> tuple[Enrolment, bool]:
    """(the enrolment, whether it is new). The same request again finds it; the same
    account, channel and payer with other settings is a conflict (PATCH changes them)."""
    _check_top_up_fields(request.topup_amount, request.funding_sources)
    await _binding_required(conn, channel, biller, request.payer, request.account)
    # enrolments of an account wait for each other: a retried request finds its twin's
    # enrolment, and two cannot both open the balance or sign the top-up
    await conn.execute(_ACCOUNT_LOCK, {"key": f"enrolment {biller.id} {request.account}"})
    key = {"biller_id": biller.id, "account_no": request.account,
           "channel_id": channel.id, "payer": request.payer}  # fmt: skip
    existing = (await conn.execute(select(enrolments).filter_by(**key))).first()
    if existing is not None:
        return await _same_again(conn, biller, _row(existing), request), False
    await prepaid.enroll(
        conn, clock, biller.code, request.account, reminder=request.reminder,
        actor=_actor(channel),
    )  # fmt: skip
    await prepaid.set_reminder(
        conn, clock, biller, request.account, request.reminder, actor=_actor(channel)
    )
    mandate = None
    if request.topup_amount is not None:
        mandate = await _sign_top_up(
            conn, clock, channel, biller, request.payer, request.account,
            request.topup_amount, request.funding_sources or [], request.signup_id,
        )  # fmt: skip
    now = clock.now()
    row = (
        await conn.execute(
            insert(enrolments)
            .values(
                **key,
                id=new_id("E"),
                mandate_id=mandate.id if mandate else None,
                enrolled_at=now,
                updated_at=now,
            )
            .returning(enrolments)
        )
    ).one()
    enrolment = await _view(conn, biller, _row(row))
    await audit.record(
        conn, clock, actor=_actor(channel), action="enrolment.created", object_type="enrolment",
        object_id=enrolment.id, after=dict(_settings(enrolment)),
    )  # fmt: skip
    return enrolment, True


async def _same_again(
    conn: AsyncConnection, biller: Biller, row: EnrolmentRow, request: EnrolmentRequest
) -> Enrolment:
    enrolment = await _view(conn, biller, row)
    asked: Settings = {
        "reminder": request.reminder,
        "topup_amount": request.topup_amount,
        "funding_sources": [s.model_dump() for s in request.funding_sources]
        if request.funding_sources
        else None,
    }
    if asked != _settings(enrolment):
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"the payer has enrolled account {row.account_no} already ({row.id}) with other "
            f"settings: change them with PATCH /v1/prepaid/enrolments/{row.id}",
        )
    return enrolment


async def _sign_top_up(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, payer: str,
    account_no: str, amount: int, sources: list[FundingSource], signup_id: str | None = None,
) -> Mandate:  # fmt: skip
    mandates.require_debit_url(channel)
    request = MandateRequest(payer=payer, biller=biller.code, account=account_no,
                             funding_sources=sources, topup_amount=amount,
                             signup_id=signup_id)  # fmt: skip
    return await mandates.sign(conn, clock, channel, biller, request)


async def find_row(conn: AsyncConnection, channel: Channel, enrolment_id: str) -> EnrolmentRow:
    """The enrolment's row, locked for a change; another channel's is as unknown (404),
    so an id says nothing to a channel that did not make it."""
    query = select(enrolments).where(enrolments.c.id == enrolment_id).with_for_update()
    row = (await conn.execute(query)).first()
    if row is None or row.channel_id != channel.id:
        raise DomainError(ErrorCode.NOT_FOUND, f"no enrolment {enrolment_id[:40]}")
    return _row(row)


async def show(
    conn: AsyncConnection, channel: Channel, biller: Biller, row: EnrolmentRow
) -> Enrolment:
    await _binding_required(conn, channel, biller, row.payer, row.account_no)
    return await _view(conn, biller, row)


async def for_payer(
    conn: AsyncConnection, channel: Channel, payer: str, biller_of: Callable[[int], Biller]
) -> list[Enrolment]:
    """The payer's enrolments at this channel whose account the payer still has bound, and
    verified (each shows a balance: §13's gate, without refusing the whole list)."""
    rows = await conn.execute(
        select(enrolments)
        .where(enrolments.c.channel_id == channel.id, enrolments.c.payer == payer)
        .order_by(enrolments.c.enrolled_at, enrolments.c.id)
    )
    found = []
    for row in rows.all():
        biller = biller_of(row.biller_id)
        binding = await live_binding(conn, channel, biller, payer, row.account_no)
        if binding is not None and binding.verified:
            found.append(await _view(conn, biller, _row(row)))
    return found


async def change(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, row: EnrolmentRow,
    patch: EnrolmentChange,
) -> Enrolment:  # fmt: skip
    """Change the fields the patch names; ``topup_amount`` null cancels the top-up, one on
    an enrolment without an active top-up signs one (with ``funding_sources``)."""
    named = patch.model_fields_set
    if not named:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "nothing to change")
    if "reminder" in named and patch.reminder is None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "reminder must be an amount in fen")
    if "funding_sources" in named and patch.funding_sources is None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "funding_sources must list 1 to 5")
    await _binding_required(conn, channel, biller, row.payer, row.account_no)
    before = await _view(conn, biller, row)
    if patch.reminder is not None:
        await prepaid.set_reminder(
            conn, clock, biller, row.account_no, patch.reminder, actor=_actor(channel)
        )
    mandate_id = await _change_top_up(conn, clock, channel, biller, before, patch)
    changed = (
        await conn.execute(
            update(enrolments)
            .where(enrolments.c.biller_id == row.biller_id, enrolments.c.id == row.id)
            .values(mandate_id=mandate_id, updated_at=clock.now())
            .returning(enrolments)
        )
    ).one()
    after = await _view(conn, biller, _row(changed))
    await audit.record(
        conn, clock, actor=_actor(channel), action="enrolment.changed",
        object_type="enrolment", object_id=row.id,
        before=dict(_settings(before)), after=dict(_settings(after)),
    )  # fmt: skip
    return after


async def _change_top_up(
    conn: AsyncConnection, clock: Clock, channel: Channel, biller: Biller, before: Enrolment,
    patch: EnrolmentChange,
) -> str | None:  # fmt: skip
    """The top-up mandate's id after the patch."""
    named = patch.model_fields_set
    mandate = before.mandate
    if "topup_amount" in named and patch.topup_amount is None:
        if mandate is not None:
            await mandates.cancel(conn, clock, channel, biller, mandate.id)
        return None
    if mandate is None:
        if patch.topup_amount is None and patch.funding_sources is None:
            return None  # only the reminder changes
        _check_top_up_fields(patch.topup_amount, patch.funding_sources)
        amount, sources = patch.topup_amount or 0, patch.funding_sources or []
        signed = await _sign_top_up(conn, clock, channel, biller, before.payer,
                                    before.account.account_no, amount, sources)  # fmt: skip
        return signed.id
    if patch.topup_amount is not None or patch.funding_sources is not None:
        change = MandateChange(topup_amount=patch.topup_amount,
                               funding_sources=patch.funding_sources)  # fmt: skip
        await mandates.change(conn, clock, channel, biller, mandate.id, change)
    return mandate.id


async def statement(
    conn: AsyncConnection, channel: Channel, biller: Biller, payer: str, account_no: str,
    month: date,
) -> Statement:  # fmt: skip
    """A month's statement, for a payer who has the account bound at this channel."""
    await _binding_required(conn, channel, biller, payer, account_no)
    return await issued_statement(conn, biller, account_no, month)
