"""Payer look-up for customer service: a payer (as the channels name them to the bindings
and payments: an id, a phone number) or an account → bills, payments, bindings, mandates,
prepaid balance and messages; and what the payer may ask support to do: send a receipt
again, cancel an auto-pay mandate. Both actions are audited with who, why, before and
after."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.audit import service as audit
from utilipay.autopay import mandates as autopay
from utilipay.autopay.api import mandate_out
from utilipay.bindings.schemas import Binding
from utilipay.channels import repository as channels
from utilipay.console.i18n import words
from utilipay.console.pages.account_view import AccountView, account_view, related
from utilipay.console.pages.accounts import accounts_host, billers_of, seen_biller
from utilipay.console.templating import render
from utilipay.console.visits import check_scope, needs
from utilipay.db.owners import Owner
from utilipay.errors import DomainError, ErrorCode
from utilipay.notify import queries as notify
from utilipay.notify.schemas import Notification
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Text = Annotated[str, Query(max_length=128)]
MAX_ACCOUNTS = 10  # a payer's bound accounts shown in full; more are in the bindings
DONE = {
    "cancelled": words("The mandate is cancelled."),
    "resent": words("The receipt is queued to be sent again."),
}


def _back(back: str) -> str:
    """Where an action returns: the look-up it was started from, never another site."""
    return back if back.startswith("/console/lookup?") else "/console/lookup?"


def _done(back: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{_back(back)}&{urlencode({'done': what})}", status_code=303)


@router.get("/lookup")
async def lookup(
    request: Request,
    staff: Annotated[Staff, needs(Permission.PAYER_LOOKUP)],
    payer: Text = "",
    biller: Text = "",
    account: Text = "",
    done: Text = "",
) -> Response:
    hub = accounts_host(request)
    payer, account = payer.strip(), account.strip()
    views: list[AccountView] = []
    shown = None
    if payer or (biller and account):
        owner = await _owner(request, staff, payer, biller, account)
        async with hub.engine.connect() as conn:
            shown = await related(conn, hub, staff, owner)
        for code, number in _accounts_of(owner, shown.bindings, biller)[:MAX_ACCOUNTS]:
            found = hub.biller(code)
            if found is not None:
                views.append(await account_view(hub, found, number))
    return render(
        request,
        "lookup.html",
        billers=billers_of(request, staff),
        query={"payer": payer, "biller": biller, "account": account},
        views=views,
        related=shown,
        actions=True,
        back=f"/console/lookup?{urlencode({'payer': payer, 'biller': biller, 'account': account})}",
        notice=DONE.get(done, ""),
    )


async def _owner(request: Request, staff: Staff, payer: str, biller: str, account: str) -> Owner:
    if payer:
        return Owner(payer=payer)
    found = await seen_biller(request, staff, biller, f"account {biller}/{account}")
    return Owner(biller_id=found.id, account_no=account)


def _accounts_of(
    owner: Owner, bindings: list[tuple[int, Binding]], biller: str
) -> list[tuple[str, str]]:
    """The accounts to show: the one looked up, or each the payer has bound."""
    if owner.account_no is not None:
        return [(biller, owner.account_no)]
    return list(dict.fromkeys((b.biller, b.account_no) for _, b in bindings))


@router.post("/lookup/mandates/{mandate_id}/cancel")
async def cancel_mandate(
    request: Request,
    staff: Annotated[Staff, needs(Permission.MANDATE_CANCEL)],
    mandate_id: str,
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """解约 at the payer's request, through auto-pay's own cancel (its debits not sent yet
    are cancelled, the payer and the channel are told)."""
    if not reason.strip():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, words("Say why: a reason is required."))
    hub = accounts_host(request)
    async with hub.engine.connect() as conn:
        mandate = await autopay.find_any(conn, mandate_id)
        channel = next(c for c in await channels.all_channels(conn) if c.id == mandate.channel_id)
    await check_scope(request, staff, mandate.biller_id, f"mandate {mandate_id}")
    biller = hub.biller_by_id(mandate.biller_id)
    if biller is None:
        raise DomainError(ErrorCode.NOT_FOUND, words("No such utility."))
    async with hub.engine.begin() as conn:
        before = await autopay.find_any(conn, mandate_id)
        after = await autopay.cancel(conn, hub.clock, channel, biller, mandate_id)
        await audit.record(
            conn, hub.clock, actor=staff.username, action="mandate.cancel",
            object_type="mandate", object_id=mandate_id, reason=reason.strip(),
            before=mandate_out(before, biller.code), after=mandate_out(after, biller.code),
        )  # fmt: skip
    return _done(back, "cancelled")


def _message_out(n: Notification) -> dict[str, object]:
    return {
        "status": n.status,
        "attempts": n.attempts,
        "created_at": n.created_at.isoformat(),
        "sent_at": None if n.sent_at is None else n.sent_at.isoformat(),
    }


@router.post("/lookup/messages/{message_id}/resend")
async def resend_receipt(
    request: Request,
    staff: Annotated[Staff, needs(Permission.RECEIPT_RESEND)],
    message_id: str,
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    hub = accounts_host(request)
    async with hub.engine.connect() as conn:
        sent = await notify.message(conn, message_id)
    await check_scope(request, staff, sent.biller_id, f"message {message_id}")
    async with hub.engine.begin() as conn:
        before, after = await notify.resend(conn, hub.clock, message_id)
        await audit.record(
            conn, hub.clock, actor=staff.username, action="receipt.resend",
            object_type="notification", object_id=message_id,
            reason=f"{before.template} to {before.recipient_kind} {before.address}",
            before=_message_out(before), after=_message_out(after),
        )  # fmt: skip
    return _done(back, "resent")
