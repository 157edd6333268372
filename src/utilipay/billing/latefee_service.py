"""Late-fee rules, waivers and a bill's fee on a day, over the database (the rule itself:
``latefees``). Every change is audited; the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import RowMapping, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.service import record
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Biller
from utilipay.billing.latefees import DayBasis, LateFee, LateFeeRule, late_fee, rule_for
from utilipay.billing.tables import bills, customer_accounts, late_fee_rules, late_fee_waivers
from utilipay.clock import Clock, business_date
from utilipay.errors import DomainError, ErrorCode

# One rule change of a utility at a time, so two overlapping rules cannot both get in.
_RULES_LOCK = 0x1A7EFEE


# what a remote utility is refused (``billers.service.hosted_biller``): it sends its own
# late fee with its bills
NEEDS = "late fees"


def _rule(row: RowMapping) -> LateFeeRule:
    return LateFeeRule(
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
        daily_per_mille=row["daily_per_mille"],
        grace_days=row["grace_days"],
        basis=DayBasis(row["basis"]),
        cap_fen=row["cap_fen"],
        cap_percent=row["cap_percent"],
        customer_class=row["customer_class"],
        rule_id=row["rule_id"],
    )


async def rules_of(conn: AsyncConnection, biller_id: int) -> list[LateFeeRule]:
    rows = await conn.execute(
        select(late_fee_rules)
        .where(late_fee_rules.c.biller_id == biller_id)
        .order_by(late_fee_rules.c.effective_from, late_fee_rules.c.rule_id)
    )
    return [_rule(r) for r in rows.mappings()]


def rule_json(rule: LateFeeRule) -> dict[str, object]:
    return {
        "rule_id": rule.rule_id,
        "customer_class": rule.customer_class,
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else None,
        "daily_per_mille": str(rule.daily_per_mille),
        "grace_days": rule.grace_days,
        "basis": rule.basis.value,
        "cap_fen": rule.cap_fen,
        "cap_percent": None if rule.cap_percent is None else str(rule.cap_percent),
    }


async def add_rule(
    conn: AsyncConnection, clock: Clock, code: str, rule: LateFeeRule, *, actor: str, reason: str
) -> LateFeeRule:
    """Store a utility's rule; refused when it is unusable or overlaps one of its rules."""
    problems = rule.problems()
    if problems:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "; ".join(problems))
    biller = await billers_service.hosted_biller(conn, code, NEEDS)
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(:k, :b)"), {"k": _RULES_LOCK, "b": biller.id}
    )
    clash = next((r for r in await rules_of(conn, biller.id) if r.overlaps(rule)), None)
    if clash is not None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{rule.describe()} overlaps {clash.describe()} of {code}: "
            "end the older rule first or choose other dates",
        )
    values = rule_json(rule) | {
        "effective_from": rule.effective_from,
        "effective_to": rule.effective_to,
        "daily_per_mille": rule.daily_per_mille,
        "cap_percent": rule.cap_percent,
    }
    del values["rule_id"]
    row = (
        (
            await conn.execute(
                insert(late_fee_rules)
                .values(
                    biller_id=biller.id,
                    actor=actor,
                    reason=reason,
                    created_at=clock.now(),
                    **values,
                )
                .returning(late_fee_rules)
            )
        )
        .mappings()
        .one()
    )
    stored = _rule(row)
    await record(conn, clock, actor=actor, action="late_fee_rule.add",
                 object_type="biller", object_id=code, reason=reason,
                 after=rule_json(stored))  # fmt: skip
    return stored


@dataclass(frozen=True, slots=True)
class BillLateFee:
    """A hosted bill's late fee on a day, and how it comes about."""

    biller: str
    bill_no: str
    on: date
    due_date: date
    paid: bool
    rule: LateFeeRule | None
    fee: LateFee

    def as_json(self) -> dict[str, object]:
        f = self.fee
        return {
            "biller": self.biller,
            "bill_no": self.bill_no,
            "on": self.on.isoformat(),
            "due_date": self.due_date.isoformat(),
            "paid": self.paid,
            "rule": None if self.rule is None else rule_json(self.rule),
            "principal": f.principal,
            "days_overdue": f.days_overdue,
            "days_charged": f.days_charged,
            "daily_per_mille": str(f.daily_per_mille),
            "cap": None if f.cap is None else str(f.cap),
            "accrued": f.accrued,
            "imported": f.imported,
            "waived": f.waived,
            "late_fee": f.fee,
            "amount_due": f.amount_due,
        }


async def bill_fee(conn: AsyncConnection, code: str, bill_no: str, on: date) -> BillLateFee:
    """The computation of a hosted bill's late fee on ``on``; 404 for an unknown bill."""
    biller = await billers_service.hosted_biller(conn, code, NEEDS)
    return await _fee_of(conn, biller, bill_no, on, lock=False)


async def _fee_of(
    conn: AsyncConnection, biller: Biller, bill_no: str, on: date, *, lock: bool
) -> BillLateFee:
    query = (
        select(bills, customer_accounts.c.customer_class)
        .join(
            customer_accounts,
            (customer_accounts.c.biller_id == bills.c.biller_id)
            & (customer_accounts.c.account_no == bills.c.account_no),
        )
        .where(bills.c.biller_id == biller.id, bills.c.bill_no == bill_no)
    )
    row = (await conn.execute(query.with_for_update(of=bills) if lock else query)).first()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"{biller.code} has no bill {bill_no}")
    waived = await conn.scalar(
        select(func.coalesce(func.sum(late_fee_waivers.c.amount), 0)).where(
            late_fee_waivers.c.biller_id == biller.id,
            late_fee_waivers.c.bill_no == bill_no,
            late_fee_waivers.c.business_date <= on,  # a later one forgave a fee not run yet
        )
    )
    rule = rule_for(await rules_of(conn, biller.id), row.customer_class, row.due_date)
    paid_on = business_date(row.paid_at) if row.paid_at else None
    fee = late_fee(rule, principal=row.amount, due=row.due_date, on=on, imported=row.late_fee,
                   waived=int(waived or 0), paid_on=paid_on)  # fmt: skip
    return BillLateFee(biller.code, bill_no, on, row.due_date, row.status == "PAID", rule, fee)


async def waive(
    conn: AsyncConnection,
    clock: Clock,
    code: str,
    bill_no: str,
    amount: int | None,
    *,
    actor: str,
    reason: str,
) -> BillLateFee:
    """Forgive ``amount`` fen of an unpaid bill's late fee today (None: all of it)."""
    if not reason.strip():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "a waiver needs a reason")
    today = business_date(clock.now())
    biller = await billers_service.hosted_biller(conn, code, NEEDS)
    before = await _fee_of(conn, biller, bill_no, today, lock=True)
    if before.paid:
        raise DomainError(
            ErrorCode.BILL_ALREADY_PAID, f"bill {bill_no} is paid: its late fee was collected"
        )
    owed = before.fee.fee
    amount = owed if amount is None else amount
    if owed <= 0:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"bill {bill_no} has no late fee to waive")
    if not 0 < amount <= owed:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"a waiver of {amount} fen on bill {bill_no} must be 1..{owed} fen, "
            f"its late fee on {today}",
        )
    await conn.execute(
        insert(late_fee_waivers).values(
            biller_id=biller.id,
            bill_no=bill_no,
            amount=amount,
            business_date=today,
            actor=actor,
            reason=reason,
            created_at=clock.now(),
        )
    )
    # the bill is locked: nothing but this waiver changed its fee since ``before``
    after = replace(before, fee=replace(before.fee, waived=before.fee.waived + amount))
    await record(conn, clock, actor=actor, action="late_fee.waive", object_type="bill",
                 object_id=f"{code}/{bill_no}", reason=reason,
                 details={"amount": amount, "on": today.isoformat()},
                 before={"late_fee": owed}, after={"late_fee": after.fee.fee})  # fmt: skip
    return after


def parse_decimal(text_value: str, what: str) -> Decimal:
    """A rate or percent typed by a person, exactly (refused: not a number)."""
    try:
        return Decimal(text_value.strip())
    except ArithmeticError:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"{what} {text_value!r} is not a number"
        ) from None
