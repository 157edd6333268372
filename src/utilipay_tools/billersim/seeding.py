"""Accounts and bills for the simulator: generated from a seed, or given one by one (tests).

Generated accounts are the same for the same seed and business month: account
numbers, holders, addresses and amounts come from the seed; the bills are for
the months before the clock's month, so a demo always has something due.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.protocol.messages import BillItem
from utilipay.clock import Clock, business_date
from utilipay_tools.billersim.tables import tables_for

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
_DISTRICTS = ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区")
_STREETS = ("和平里", "安定门", "望京", "中关村", "方庄", "苹果园", "梨园", "回龙观")


async def add_account(
    conn: AsyncConnection,
    schema: str,
    account_no: str,
    holder: str,
    address: str,
    bills: Sequence[BillItem] = (),
) -> None:
    """One account with its (unpaid) bills; an account or bill number already there is an error."""
    t = tables_for(schema)
    await conn.execute(
        insert(t.accounts).values(account_no=account_no, holder_name=holder, address=address)
    )
    if bills:
        await conn.execute(insert(t.bills), [_bill_row(account_no, b) for b in bills])


async def issue_bills(
    conn: AsyncConnection, schema: str, account_no: str, bills: Sequence[BillItem]
) -> None:
    """New unpaid bills for an existing account (a month's billing run at the utility)."""
    await conn.execute(insert(tables_for(schema).bills), [_bill_row(account_no, b) for b in bills])


def _bill_row(account_no: str, bill: BillItem) -> dict[str, object]:
    return {
        "bill_no": bill.billno,
        "account_no": account_no,
        "period": bill.period,
        "amount": bill.amount,
        "late_fee": bill.latefee,
        "due_date": bill.duedate,
    }


async def seed_accounts(
    conn: AsyncConnection,
    schema: str,
    clock: Clock,
    count: int,
    seed: int,
    *,
    prefix: str = "01",
    digits: int = 10,
) -> list[str]:
    """``count`` accounts numbered ``prefix`` + random digits (``digits`` in all), each with
    one to three unpaid bills; seeding again with the same arguments adds nothing."""
    space = 10 ** (digits - len(prefix))
    if not 0 <= count <= space // 2:
        raise ValueError(f"{count} accounts do not fit {digits}-digit numbers after {prefix!r}")
    rng = random.Random(seed)  # noqa: S311  # test data, not secrets
    numbers: dict[str, None] = {}  # ordered and unique
    while len(numbers) < count:
        numbers[f"{prefix}{rng.randrange(space):0{digits - len(prefix)}d}"] = None
    t = tables_for(schema)
    accounts, bills = [], []
    for account_no in numbers:
        holder = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))
        address = f"{rng.choice(_DISTRICTS)}{rng.choice(_STREETS)}{rng.randint(1, 30)}号"
        accounts.append({"account_no": account_no, "holder_name": holder, "address": address})
        months = rng.randint(1, 3)
        bills += [_bill_row(account_no, b) for b in _bills(rng, account_no, clock, months)]
    if accounts:
        await conn.execute(pg_insert(t.accounts).on_conflict_do_nothing(), accounts)
        await conn.execute(pg_insert(t.bills).on_conflict_do_nothing(), bills)
    return list(numbers)


def _bills(rng: random.Random, account_no: str, clock: Clock, months: int) -> list[BillItem]:
    """One bill a month for the ``months`` months before this one; older ones carry a late fee."""
    today = business_date(clock.now())
    out = []
    for back in range(1, months + 1):
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        period = f"{year:04d}{month + 1:02d}"
        due_year, due_month = divmod(year * 12 + month + 1, 12)
        amount = rng.randint(1_000, 50_000)
        out.append(
            BillItem(
                billno=f"B{period}-{account_no}",
                period=period,
                amount=amount,
                latefee=(amount // 200) * (back - 1),  # 0.5 % a month overdue
                duedate=date(due_year, due_month + 1, 25),
            )
        )
    return out
