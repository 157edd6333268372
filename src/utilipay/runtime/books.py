"""``utilipay check``: every rule the books must hold, the ledger's and the areas' own."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.ledger import check as ledger
from utilipay.outlets import checks as outlets
from utilipay.payments import checks as payments
from utilipay.settlement import checks as settlement
from utilipay.vouchers import checks as vouchers

BOOKS = (*ledger.CHECKS, *payments.CHECKS, *settlement.CHECKS, *outlets.CHECKS, *vouchers.CHECKS)


async def check_books(conn: AsyncConnection) -> list[ledger.CheckResult]:
    return await ledger.run_checks(conn, BOOKS)
