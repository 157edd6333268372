"""Hosted billing: customer accounts and their bills, imported from the utility's files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Biller
from utilipay.billing import repository
from utilipay.billing.schemas import BillRow, ImportReport
from utilipay.clock import Clock
from utilipay.common.files import FileRejected, LineError
from utilipay.money import CNY
from utilipay.outbox.service import Event, emit

Progress = Callable[[int], None]  # called with the number of bills just written


async def import_bills(
    conn: AsyncConnection,
    clock: Clock,
    rows: list[BillRow],
    *,
    source: str = "bills file",
    progress: Progress | None = None,
    line_errors: Sequence[LineError] = (),
) -> ImportReport:
    """Add the bills of ``rows``, all or nothing.

    Re-importing a bill exactly as it is changes nothing (an operator may rerun a
    file); a bill number already used for different content is refused. ``line_errors``,
    the file's lines that could not be read, refuse it too, reported with what the
    database says of the others, so that one attempt names every bad line.
    """
    errors = list(line_errors)
    billers = await billers_service.hosted_billers_of(conn, rows, errors, "bills")
    good = [r for r in rows if r.biller in billers]
    existing = await repository.bills_by_no(
        conn, [(billers[r.biller].id, r.bill.bill_no) for r in good]
    )
    new_rows: list[BillRow] = []
    for row in good:
        old = existing.get((billers[row.biller].id, row.bill.bill_no))
        if old is None:
            new_rows.append(row)
        elif old != row.bill:
            errors.append(
                LineError(row.line, f"bill {row.bill.bill_no} exists with different content")
            )
    if errors:
        raise FileRejected(source, sorted(errors, key=lambda e: e.line))

    now = clock.now()
    holders: dict[tuple[int, str], str] = {}
    for row in new_rows:
        holders[(billers[row.biller].id, row.account_no)] = row.holder
    known = await repository.accounts_by_no(conn, list(holders))
    await repository.insert_accounts(
        conn,
        [
            {"biller_id": b, "account_no": a, "holder_name": h, "address": "", "created_at": now}
            for (b, a), h in holders.items()
            if (b, a) not in known
        ],
    )
    renamed = [
        {"b_biller": b, "b_account": a, "b_holder": h}
        for (b, a), h in holders.items()
        if (b, a) in known and known[(b, a)] != h
    ]
    await repository.rename_holders(conn, renamed)
    await repository.insert_bills(
        conn,
        [
            {
                "biller_id": billers[r.biller].id,
                "bill_no": r.bill.bill_no,
                "account_no": r.account_no,
                "period": r.bill.period,
                "amount": r.bill.amount,
                "late_fee": r.bill.late_fee,
                "currency": CNY,
                "due_date": r.bill.due_date,
                "status": "UNPAID",
                "issued_at": now,
            }
            for r in new_rows
        ],
        progress=progress,
    )
    await emit(conn, [_issued(billers[r.biller], r, now) for r in new_rows])
    return ImportReport(
        bills_added=len(new_rows),
        bills_unchanged=len(good) - len(new_rows),
        accounts_added=len(holders) - len(known),
        accounts_renamed=len(renamed),
    )


def _issued(biller: Biller, row: BillRow, now: datetime) -> Event:
    return Event(
        biller_id=biller.id,
        event_type="bill.issued",
        aggregate_id=row.bill.bill_no,
        payload={
            "biller": biller.code,
            "account_no": row.account_no,
            "bill_no": row.bill.bill_no,
            "period": row.bill.period,
            "amount": row.bill.amount,
            "late_fee": row.bill.late_fee,
            "due_date": row.bill.due_date.isoformat(),
        },
        occurred_at=now,
    )
