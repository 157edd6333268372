"""The payer's auto-pay at this channel: the list, a mandate's terms, cap, funding sources
in order and debits (``GET /v1/mandates/{id}/debits``' history), changing the cap or the
order of the sources, cancelling. The payer's session is the channel's authority here, as
its signed ``PATCH``/``DELETE`` would be; every action needs the verified binding the API
needs, and another payer's mandate is as if it did not exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import RedirectResponse, Response

from utilipay.autopay import mandates
from utilipay.autopay.schemas import FundingSource, Mandate, MandateChange
from utilipay.billers.lookup import BillerHost
from utilipay.billers.schemas import Biller
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.pages.accounts import hub_of
from utilipay.h5.signups import fen_of, refusal, require_verified
from utilipay.h5.templating import render
from utilipay.h5.visits import Payer, Visitor

router = APIRouter()
Typed = Annotated[str, Form(max_length=200)]


@router.get("/autopay")
async def my_autopay(request: Request, payer: Visitor) -> Response:
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        found = await mandates.for_payer(conn, payer.channel, payer.payer)
    signed = [(m, hub.biller_code(m.biller_id)) for m in reversed(found)]
    return render(request, "autopay_list.html", mandates=signed)


async def _payers_mandate(
    conn: AsyncConnection, hub: BillerHost, payer: Payer, mandate_id: str, *, lock: bool = False
) -> tuple[Mandate, Biller]:
    """The payer's own mandate at this channel (another channel's: FORBIDDEN, shown as 404),
    its account's binding verified if it is still bound."""
    mandate = await mandates.find(conn, payer.channel, mandate_id[:64], lock=lock)
    biller = hub.biller_by_id(mandate.biller_id)
    if mandate.payer != payer.payer or biller is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such mandate")
    await require_verified(conn, payer.channel, biller, payer.payer, mandate.account_no)
    return mandate, biller


async def _mandate_page(
    request: Request, payer: Payer, mandate_id: str, status: int = 200, error: str = ""
) -> Response:
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        mandate, biller = await _payers_mandate(conn, hub, payer, mandate_id)
        debits = await mandates.debit_history(conn, mandate)
    return render(request, "autopay_mandate.html", status_code=status, mandate=mandate,
                  biller=biller, debits=list(reversed(debits)), error=error)  # fmt: skip


@router.get("/autopay/mandates/{mandate_id}")
async def mandate_page(request: Request, mandate_id: str, payer: Visitor) -> Response:
    return await _mandate_page(request, payer, mandate_id)


async def _change(
    request: Request, payer: Payer, mandate_id: str,
    wanted: Callable[[Mandate], dict[str, object]],
) -> Response:  # fmt: skip
    """Change as ``PATCH /v1/mandates/{id}`` does, ``wanted`` made from the mandate as it is
    once held (two changes at once each start from the other's); a refusal shows the page
    with why."""
    hub = hub_of(request)
    try:
        async with hub.engine.begin() as conn:
            mandate, biller = await _payers_mandate(conn, hub, payer, mandate_id, lock=True)
            change = MandateChange.model_validate(wanted(mandate))
            await mandates.change(conn, hub.clock, payer.channel, biller, mandate.id, change)
    except (ValidationError, DomainError) as exc:
        status, why = refusal(request, exc)
        return await _mandate_page(request, payer, mandate_id, status, why)
    return RedirectResponse(f"/h5/autopay/mandates/{mandate_id[:64]}", status_code=303)


@router.post("/autopay/mandates/{mandate_id}/cap")
async def change_cap(
    request: Request, mandate_id: str, payer: Visitor, cap: Typed = ""
) -> Response:
    return await _change(request, payer, mandate_id, lambda _: {"cap": fen_of(cap)})


def moved(sources: tuple[FundingSource, ...], source_id: str, up: bool) -> list[dict[str, str]]:
    """The sources with one moved a place up or down (at an end: as they were)."""
    order = [s.model_dump() for s in sources]
    at = next((i for i, s in enumerate(order) if s["id"] == source_id), None)
    if at is None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"no funding source {source_id[:64]}")
    to = max(at - 1, 0) if up else min(at + 1, len(order) - 1)
    order[at], order[to] = order[to], order[at]
    return order


@router.post("/autopay/mandates/{mandate_id}/priority")
async def change_priority(
    request: Request, mandate_id: str, payer: Visitor, source: Typed,
    move: Annotated[Literal["up", "down"], Form()],
) -> Response:  # fmt: skip
    def reordered(mandate: Mandate) -> dict[str, object]:
        return {"funding_sources": moved(mandate.funding_sources, source, move == "up")}

    return await _change(request, payer, mandate_id, reordered)


@router.get("/autopay/mandates/{mandate_id}/cancel")
async def cancel_page(request: Request, mandate_id: str, payer: Visitor) -> Response:
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        mandate, biller = await _payers_mandate(conn, hub, payer, mandate_id)
    return render(request, "autopay_cancel.html", mandate=mandate, biller=biller)


@router.post("/autopay/mandates/{mandate_id}/cancel")
async def cancel(request: Request, mandate_id: str, payer: Visitor) -> Response:
    """解约 as ``DELETE /v1/mandates/{id}``: debits not yet sent are cancelled with it."""
    hub = hub_of(request)
    async with hub.engine.begin() as conn:
        mandate, biller = await _payers_mandate(conn, hub, payer, mandate_id, lock=True)
        await mandates.cancel(conn, hub.clock, payer.channel, biller, mandate.id)
    return RedirectResponse(f"/h5/autopay/mandates/{mandate.id}", status_code=303)
