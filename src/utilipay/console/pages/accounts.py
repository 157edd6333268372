"""A utility's accounts: find one by utility and account number; its page shows its bills
(the hub's books, or what a remote utility answers), bindings, auto-pay mandates, prepaid
state with its daily usage, and the messages sent about it. Utility staff see only their
utility's and branches' accounts; another's, opened by URL, is refused and audited."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.accounts.connector import AccountsHost
from utilipay.billers.schemas import Biller
from utilipay.console.i18n import words
from utilipay.console.pages.account_view import account_view, related
from utilipay.console.templating import render
from utilipay.console.visits import check_scope, needs
from utilipay.db.owners import Owner
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Text = Annotated[str, Query(max_length=64)]
Reader = Annotated[Staff, needs(Permission.ACCOUNTS_READ)]


def accounts_host(request: Request) -> AccountsHost:
    hub: AccountsHost = request.app.state.hub
    return hub


def billers_of(request: Request, staff: Staff) -> list[Biller]:
    """The utilities ``staff`` may look in, for the forms' choice."""
    return [b for b in accounts_host(request).billers() if staff.may_see(b.id)]


async def seen_biller(request: Request, staff: Staff, code: str, what: str) -> Biller:
    """The utility ``code``, once ``staff`` may see it (else refused and audited)."""
    biller = accounts_host(request).biller(code)
    if biller is None:
        raise DomainError(ErrorCode.NOT_FOUND, words("No such utility."))
    await check_scope(request, staff, biller.id, what)
    return biller


@router.get("/accounts")
async def find_account(
    request: Request, staff: Reader, biller: Text = "", account: Text = ""
) -> Response:
    if biller and account.strip():
        target = f"/console/accounts/{quote(biller, safe='')}/{quote(account.strip(), safe='')}"
        return RedirectResponse(target, status_code=303)
    return render(
        request, "accounts.html", billers=billers_of(request, staff), biller=biller, account=""
    )


@router.get("/accounts/{biller}/{account}")
async def show_account(request: Request, staff: Reader, biller: str, account: str) -> Response:
    found = await seen_biller(request, staff, biller, f"account {biller}/{account}")
    hub = accounts_host(request)
    view = await account_view(hub, found, account)
    async with hub.engine.connect() as conn:
        shown = await related(conn, hub, staff, Owner(biller_id=found.id, account_no=account))
    return render(request, "account.html", view=view, related=shown, actions=False, back="")
