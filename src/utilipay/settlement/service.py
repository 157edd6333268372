"""Settling a business day (清分结算): what each utility is owed, once, and its payout.

For each payee and Asia/Shanghai business day D:

- gross = bill write-offs (payments SUCCEEDED with finished_at in D, purpose bills)
  + settled prepaid use (the PREPAID_ACCRUAL entries posted in D) + what vouchers moved on
  the utility's payable in D (bills their redemptions and credits wrote off, breakage,
  less the face value of vouchers the utility sold itself: the ledger's voucher entries).
  A top-up is the payer's money held for the utility: it is owed only as it is used, so
  top-ups are shown and never paid; a payment written off and then reversed at the
  utility ends FAILED and was never owed: shown, not deducted.
- net = gross - refunds (contract 2, by their business_date, of payments the utility
  was owed: a refund of a payment the hub failed is not the utility's) - the hub's service
  fees (the biller's fee rule on each payment, bills and top-ups alike) - the commission of
  the outlets that took its payments (its rule for the outlet's kind, on each payment the
  outlet took: the utility pays its agents, channel-api.md §11). A channel's fees are the
  hub's cost: reported, never deducted.

A group (billers.parent_id) that sweeps (归集) is one payee whose settlement has a
line per branch; otherwise each branch is its own payee (清分到各分公司).

A settlement is written once with one ledger entry, by the ledger's rule
(``ledger/flows.py``): each branch's payable debited with its gross, the payee's settled
account credited with the net, the hub's fee income from each branch with its fees, each
channel's refund payable with its refunds, each outlet's float with its commission (and
the float's running balance with it: ``outlets.earnings``). A day already
settled is never rewritten (its file may be at the bank): running it again reports
UNCHANGED, or DIFFERS with every difference, and writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock, business_date, day_bounds
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.accounts import Owner
from utilipay.ledger.flows import BranchShare, post_settlement
from utilipay.outbox.service import Event, emit
from utilipay.outlets import earnings
from utilipay.outlets.earnings import OutletSale
from utilipay.settlement import repository as repo
from utilipay.settlement.config import Mode
from utilipay.settlement.fees import FeeRule, rule_on
from utilipay.settlement.repository import Member, PayTo, Sale
from utilipay.settlement.tables import biller_fee_rules, channel_fee_rules

# The figures of a line that a re-run compares with what was written.
FIGURES = ("bills", "bill_count", "accruals", "vouchers", "topups", "topup_count",
           "reversed", "reversed_count", "refunds", "fees", "channel_fees", "commission",
           "gross", "net")  # fmt: skip


@dataclass(slots=True)
class Earned:
    """What one outlet earned in a branch's day: its payments and their commission."""

    float_account: int
    payments: int = 0
    amount: int = 0
    commission: int = 0


@dataclass(slots=True)
class Line:
    """One branch's part of a payee's day."""

    branch: Member
    bills: int = 0
    bill_count: int = 0
    accruals: int = 0
    vouchers: int = 0
    topups: int = 0
    topup_count: int = 0
    reversed: int = 0
    reversed_count: int = 0
    fees: int = 0
    channel_fees: int = 0
    refunds_by_channel: dict[int, int] = field(default_factory=dict)
    earned: dict[int, Earned] = field(default_factory=dict)  # by outlet id

    @property
    def commission(self) -> int:
        return sum(e.commission for e in self.earned.values())

    @property
    def refunds(self) -> int:
        return sum(self.refunds_by_channel.values())

    @property
    def gross(self) -> int:
        return self.bills + self.accruals + self.vouchers

    @property
    def net(self) -> int:
        return self.gross - self.refunds - self.fees - self.commission

    @property
    def idle(self) -> bool:
        return not any(getattr(self, f) for f in FIGURES)

    def figures(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in FIGURES}


@dataclass(frozen=True, slots=True)
class Outcome:
    payee: str
    day: date
    status: str  # SETTLED, UNCHANGED, DIFFERS, NO_ACCOUNT
    lines: list[Line]
    differences: list[str] = field(default_factory=list)

    def total(self, figure: str) -> int:
        return sum(getattr(line, figure) for line in self.lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "payee": self.payee,
            "date": self.day.isoformat(),
            "status": self.status,
            **{
                f: self.total(f)
                for f in ("gross", "refunds", "fees", "commission", "net", "channel_fees")
            },
            "lines": [{"branch": line.branch.code, **line.figures()} for line in self.lines],
            "differences": self.differences,
        }


def payees(everyone: list[Member], pay_to: dict[int, PayTo]) -> dict[Member, list[Member]]:
    """Each payee with the billers it is paid for: a sweeping group with its branches."""
    by_id = {m.id: m for m in everyone}
    found: dict[Member, list[Member]] = defaultdict(list)
    for m in everyone:
        parent = by_id.get(m.parent_id) if m.parent_id is not None else None
        sweeps = parent is not None and parent.id in pay_to and pay_to[parent.id].mode == Mode.GROUP
        found[parent if sweeps and parent is not None else m].append(m)
    return found


def _chosen(plan: dict[Member, list[Member]], code: str | None) -> dict[Member, list[Member]]:
    """The payees a run for ``code`` covers: its own, and its branches' if a group."""
    if code is None:
        return plan
    everyone = {m.id: m for group in plan.values() for m in group}
    ids = {m.id for m in everyone.values() if m.code == code}
    if not ids:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {code}")
    ids |= {m.id for m in everyone.values() if m.parent_id in ids}
    return {p: ms for p, ms in plan.items() if any(m.id in ids for m in ms)}


@dataclass(frozen=True, slots=True)
class _Day:
    """Everything a day's figures come from, read once for all payees."""

    day: date
    sales: dict[int, list[Sale]]
    reversed: dict[int, tuple[int, int]]
    accrued: dict[int, int]
    vouchers: dict[int, int]
    refunds: dict[int, dict[int, int]]
    biller_rules: dict[int, list[FeeRule]]
    channel_rules: dict[int, list[FeeRule]]
    outlet_sales: dict[int, list[OutletSale]]
    commission_rules: dict[tuple[int, str], list[FeeRule]]


async def _read_day(conn: AsyncConnection, day: date, ids: list[int]) -> _Day:
    start, end = day_bounds(day)
    sales: dict[int, list[Sale]] = defaultdict(list)
    for sale in await repo.sales(conn, ids, start, end):
        sales[sale.biller_id].append(sale)
    at_outlets: dict[int, list[OutletSale]] = defaultdict(list)
    for taken in await earnings.sales(conn, ids, start, end):
        at_outlets[taken.biller_id].append(taken)
    return _Day(
        day,
        sales,
        await repo.reversed_payments(conn, ids, start, end),
        await repo.accrued(conn, ids, start, end),
        await repo.vouchers(conn, ids, start, end),
        await repo.refunds(conn, ids, day),
        await repo.fee_rules(conn, biller_fee_rules),
        await repo.fee_rules(conn, channel_fee_rules),
        at_outlets,
        await repo.commission_rules(conn),
    )


def _line(data: _Day, branch: Member) -> Line:
    # a branch without a fee rule of its own pays its group's
    own = rule_on(data.biller_rules.get(branch.id, []), data.day)
    group = data.biller_rules.get(branch.parent_id or 0, [])
    service_fee = own or rule_on(group, data.day)
    line = Line(
        branch, accruals=data.accrued.get(branch.id, 0), vouchers=data.vouchers.get(branch.id, 0)
    )
    line.reversed, line.reversed_count = data.reversed.get(branch.id, (0, 0))
    line.refunds_by_channel = dict(data.refunds.get(branch.id, {}))
    for s in data.sales.get(branch.id, []):
        if s.purpose == "bills":
            line.bills += s.amount * s.count
            line.bill_count += s.count
        else:
            line.topups += s.amount * s.count
            line.topup_count += s.count
        if service_fee is not None:
            line.fees += service_fee.fee(s.amount) * s.count
        channel_fee = rule_on(data.channel_rules.get(s.channel_id, []), data.day)
        if channel_fee is not None:
            line.channel_fees += channel_fee.fee(s.amount) * s.count
    _add_commission(data, branch, line)
    return line


def _add_commission(data: _Day, branch: Member, line: Line) -> None:
    """Each outlet's payments of the branch's day and their commission: the branch's rule
    for the outlet's kind, or its group's."""
    for taken in data.outlet_sales.get(branch.id, []):
        own = data.commission_rules.get((branch.id, taken.outlet_kind), [])
        group = data.commission_rules.get((branch.parent_id or 0, taken.outlet_kind), [])
        rule = rule_on(own, data.day) or rule_on(group, data.day)
        earned = line.earned.setdefault(taken.outlet_id, Earned(taken.float_account))
        earned.payments += taken.count
        earned.amount += taken.amount * taken.count
        if rule is not None:
            earned.commission += rule.fee(taken.amount) * taken.count


def _differences(lines: list[Line], written: dict[str, Any], codes: dict[int, str]) -> list[str]:
    found = []
    now = {line.branch.id: line for line in lines}
    for branch_id in sorted(set(now) | set(written["lines"]), key=codes.__getitem__):
        was = written["lines"].get(branch_id)
        line = now.get(branch_id)
        name = codes[branch_id]
        for f in FIGURES:
            before = was[f] if was else 0
            after = getattr(line, f) if line else 0
            if before != after:
                found.append(f"{name} {f}: settled {before}, now {after}")
    return found


async def settle_day(
    conn: AsyncConnection, clock: Clock, day: date, *, biller: str | None = None, actor: str
) -> list[Outcome]:
    """Settle ``day`` for every payee (or the one ``biller`` belongs to) with anything in
    it. Safe to repeat: a settled payee's day is compared, never rewritten."""
    if day >= business_date(clock.now()):
        raise DomainError(ErrorCode.NOT_READY, f"{day} is not over yet in Shanghai")
    await repo.lock(conn)
    everyone = await repo.members(conn)
    pay_to = await repo.pay_to(conn)
    plan = _chosen(payees(everyone, pay_to), biller)
    codes = {m.id: m.code for m in everyone}
    data = await _read_day(conn, day, [m.id for ms in plan.values() for m in ms])
    outcomes = []
    for payee, branches in sorted(plan.items(), key=lambda p: p[0].code):
        lines = [line for line in (_line(data, b) for b in branches) if not line.idle]
        written = await repo.stored(conn, payee.id, day)
        if written is not None:
            diff = _differences(lines, written, codes)
            outcomes.append(Outcome(payee.code, day, "DIFFERS" if diff else "UNCHANGED", lines,
                                    diff))  # fmt: skip
        elif not lines:
            continue
        elif payee.id not in pay_to:
            outcomes.append(Outcome(payee.code, day, "NO_ACCOUNT", lines,
                                    [f"{payee.code} has no settlement account"]))  # fmt: skip
        elif elsewhere := await _settled_elsewhere(conn, day, lines, codes):
            outcomes.append(Outcome(payee.code, day, "DIFFERS", lines, elsewhere))
        else:
            await _write(conn, clock, payee, pay_to[payee.id], day, lines, actor)
            outcomes.append(Outcome(payee.code, day, "SETTLED", lines))
    return outcomes


async def _settled_elsewhere(
    conn: AsyncConnection, day: date, lines: list[Line], codes: dict[int, str]
) -> list[str]:
    """A branch whose day went to another payee (its group changed mode since)."""
    found = await repo.settled_to(conn, day, [line.branch.id for line in lines])
    return sorted(f"{codes[b]}'s {day} is already settled to {codes[p]}" for b, p in found.items())


async def _write(
    conn: AsyncConnection,
    clock: Clock,
    payee: Member,
    to: PayTo,
    day: date,
    lines: list[Line],
    actor: str,
) -> None:
    now = clock.now()
    net = sum(line.net for line in lines)
    entry_id = await _post(conn, clock, payee, day, lines)
    await repo.write(
        conn,
        {
            "biller_id": payee.id, "business_date": day,
            "gross": sum(x.gross for x in lines), "refunds": sum(x.refunds for x in lines),
            "fees": sum(x.fees for x in lines), "net": net,
            "channel_fees": sum(x.channel_fees for x in lines),
            "commission": sum(x.commission for x in lines),
            "payments": sum(x.bill_count + x.topup_count for x in lines),
            "account_no": to.account_no, "account_name": to.account_name, "bank": to.bank,
            "entry_id": entry_id, "actor": actor, "created_at": now,
        },
        [{"biller_id": payee.id, "business_date": day, "branch_id": x.branch.id, **x.figures()}
         for x in lines],
    )  # fmt: skip
    await _pay_commissions(conn, clock, payee, day, lines)
    reference = payout_reference(payee.code, day)
    if net > 0:
        await repo.write_payout(
            conn, biller_id=payee.id, business_date=day, reference=reference, amount=net,
            account_no=to.account_no, created_at=now,
        )  # fmt: skip
    payload = {"payee": payee.code, "date": day.isoformat(), "net": net,
               "reference": reference if net > 0 else None}  # fmt: skip
    await emit(conn, [Event(payee.id, "settlement.settled", f"{payee.code}:{day}", payload, now)])
    await audit.record(
        conn, clock, actor=actor, action="settlement.settle", object_type="settlement",
        object_id=f"{payee.code}:{day}", details=payload,
    )  # fmt: skip


async def _pay_commissions(
    conn: AsyncConnection, clock: Clock, payee: Member, day: date, lines: list[Line]
) -> None:
    """The outlets' part of the settlement, an outlet's branches merged; the ledger entry
    credited their float accounts, so their floats' running balances follow."""
    merged: dict[int, Earned] = {}
    for line in lines:
        for outlet_id, e in line.earned.items():
            total = merged.setdefault(outlet_id, Earned(e.float_account))
            total.payments += e.payments
            total.amount += e.amount
            total.commission += e.commission
    await repo.write_commissions(
        conn,
        [{"biller_id": payee.id, "business_date": day, "outlet_id": outlet_id,
          "payments": e.payments, "amount": e.amount, "commission": e.commission}
         for outlet_id, e in sorted(merged.items())],
    )  # fmt: skip
    await earnings.credit_floats(conn, clock, {o: e.commission for o, e in merged.items()})


def payout_reference(payee_code: str, day: date) -> str:
    """The transfer's end-to-end id, which the bank statement line carries back."""
    return f"STL-{payee_code}-{day:%Y%m%d}"


async def _post(
    conn: AsyncConnection, clock: Clock, payee: Member, day: date, lines: list[Line]
) -> int | None:
    """The settlement's one ledger entry (the ledger's rule); none when nothing moves."""
    codes = await repo.channel_codes(conn)
    refunds: dict[Owner, int] = defaultdict(int)
    for line in lines:
        for channel_id, amount in line.refunds_by_channel.items():
            refunds[Owner(channel_id, codes[channel_id])] += amount
    branches = [BranchShare(_owner(x.branch), x.gross, x.fees) for x in lines]
    commissions: dict[int, int] = defaultdict(int)
    for line in lines:
        for earned in line.earned.values():
            commissions[earned.float_account] += earned.commission
    return await post_settlement(
        conn, clock, payee=_owner(payee), day=day, branches=branches, refunds=refunds,
        commissions=commissions,
    )  # fmt: skip


def _owner(member: Member) -> Owner:
    return Owner(member.id, member.code)


async def show_day(
    conn: AsyncConnection, day: date, *, biller: str | None = None
) -> list[dict[str, Any]]:
    """The settlements written for ``day``, as stored, with their lines and payouts; with
    ``biller``, those it is the payee, a branch or the group of a branch of."""
    by_id = {m.id: m for m in await repo.members(conn)}
    found = []
    for payee_id in await repo.stored_days(conn, day):
        written = await repo.stored(conn, payee_id, day)
        if written is not None and _concerns(written, by_id, biller):
            found.append(_shown(written, by_id))
    return found


def _concerns(written: dict[str, Any], by_id: dict[int, Member], code: str | None) -> bool:
    if code is None:
        return True
    ids = {written["biller_id"], *written["lines"]}
    parents = {by_id[i].parent_id for i in ids} - {None}
    return code in {by_id[i].code for i in ids | parents if i is not None}


async def one_settlement(conn: AsyncConnection, day: date, payee: str) -> dict[str, Any]:
    """The settlement paid to ``payee`` for ``day``, as written (for its file)."""
    found = await show_day(conn, day, biller=payee)
    for settlement in found:
        if settlement["payee"] == payee:
            return settlement
    paid = ", ".join(s["payee"] for s in found)
    hint = f" (its money is in the settlement of {paid})" if paid else ""
    raise DomainError(ErrorCode.NOT_FOUND, f"no settlement paid to {payee} on {day}{hint}")


def _shown(written: dict[str, Any], by_id: dict[int, Member]) -> dict[str, Any]:
    payout = written["payout"]
    return {
        "payee": by_id[written["biller_id"]].code,
        "payee_name": by_id[written["biller_id"]].name,
        "date": written["business_date"].isoformat(),
        **{k: written[k] for k in ("gross", "refunds", "fees", "commission", "net",
                                   "channel_fees", "payments", "account_no", "account_name",
                                   "bank")},
        "lines": [
            {"branch": by_id[b].code, "branch_name": by_id[b].name,
             **{f: line[f] for f in FIGURES}}
            for b, line in sorted(written["lines"].items(), key=lambda i: by_id[i[0]].code)
        ],
        "payout": None if payout is None else {
            k: payout[k] for k in ("reference", "amount", "account_no", "status", "note")
        },
    }  # fmt: skip
