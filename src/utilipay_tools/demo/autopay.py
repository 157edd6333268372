"""The demo's auto-pay (自动缴费): a payer signs a mandate, a bill is issued, the clock moves on.

The engine runs with a clock of its own that the demo moves forward, from one
due moment to the next (the pre-debit notice, then the next working-day
morning if it is night or a holiday), exactly as the worker would live through
them. The channel is played by the channel simulator, whose clock moves along:
the payer's card declines and the wallet balance pays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billing import contacts, csvfile
from utilipay.billing import service as billing_service
from utilipay.channels import repository as channels_repo
from utilipay.channels import service as channels_service
from utilipay.clock import SHANGHAI, FrozenClock, SystemClock
from utilipay.notify.queries import messages_for
from utilipay.notify.settings import get_notify_settings
from utilipay.runtime.sample import ACCOUNT, BILLER, CHANNEL, CHANNEL_SECRET, PAYER
from utilipay.web.server import ServerThread
from utilipay.worker.context import WorkerContext
from utilipay_tools.channelsim.app import app_for
from utilipay_tools.channelsim.outcomes import OutcomePlan
from utilipay_tools.channelsim.simulator import ChannelSim, ChannelSimConfig
from utilipay_tools.demo.steps import Journey

CARD = {"id": "card-6222", "label": "储蓄卡(6222)"}
BALANCE = {"id": "balance", "label": "零钱"}
BILL_NO = "B202611-0001"
AUTOPAY_MESSAGES = {"mandate.signed", "bill.issued", "debit.scheduled", "autopay.succeeded"}
AMOUNT = 9870  # fen: 98.70 yuan, under the 500-yuan cap the payer chooses


@contextmanager
def wallet(clock: FrozenClock) -> Iterator[tuple[ChannelSim, str]]:
    """The channel's side of debits and messages; the card declines, the balance pays."""
    plan = OutcomePlan.parse(f"{CARD['id']}=declined,*=success")
    sim = ChannelSim(ChannelSimConfig(secret=CHANNEL_SECRET, outcomes=plan), clock)
    with ServerThread(app_for(sim)) as base_url:
        yield sim, base_url


async def walk(j: Journey, url: URL) -> None:
    clock = FrozenClock(SystemClock().now())
    with wallet(clock) as (sim, wallet_url):
        worker = WorkerContext.from_url(url, clock)
        await point_channel_at(worker.engine, clock, wallet_url)
        await worker.start()
        try:
            await _journey(j, worker, clock, sim)
        finally:
            await worker.stop()


async def point_channel_at(engine: AsyncEngine, clock: FrozenClock, wallet_url: str) -> None:
    """The channel's debits and messages go to the wallet; the hub learns it by NOTIFY."""
    async with engine.begin() as conn:
        if (await channels_repo.by_code(conn, CHANNEL)) is None:
            raise SystemExit(f"the demo channel {CHANNEL} is missing")
        await channels_service.update_channel(
            conn, clock, CHANNEL, debit_url=f"{wallet_url}/debits",
            webhook_url=f"{wallet_url}/webhooks", actor="demo",
        )  # fmt: skip
        await contacts.set_contacts(
            conn, clock, BILLER, ACCOUNT, phone="13800138000", email="zhangsan@example.com",
            actor="demo",
        )  # fmt: skip
    # The hub's directory hears of the change by NOTIFY after the commit, a moment later
    # (on a busy machine, up to a second or so): the demo waits for it as a channel would.
    await asyncio.sleep(2)


async def _journey(j: Journey, worker: WorkerContext, clock: FrozenClock, sim: ChannelSim) -> None:
    await j.call(
        "Auto-pay is signed only for an account the payer has bound (户号绑定) and verified at "
        "the channel (§13): binding again with the holder's name returns that binding, verified",
        "POST",
        "/v1/bindings",
        json={
            "payer": PAYER,
            "biller": BILLER,
            "account": ACCOUNT,
            "verification": {"holder_name": "张三"},
        },
        expect=200,
    )
    signing = {"payer": PAYER, "biller": BILLER, "account": ACCOUNT, "cap": 50000,
               "funding_sources": [CARD, BALANCE]}  # fmt: skip
    mandate = await j.call(
        "The payer signs auto-pay (签约自动缴费): cap 500 yuan, the card first, then the balance",
        "POST",
        "/v1/mandates",
        json=signing,
        expect=201,
    )
    clock.set(max(clock.now(), datetime.fromisoformat(mandate["signed_at"])) + timedelta(minutes=1))
    await _issue_bill(worker.engine, clock)
    j.console.print(f"\n[bold]The utility issues bill {BILL_NO} at {_local(clock.now())}[/bold]")
    await worker.run_autopay()
    await _show_debits(j.console, worker.engine, "The engine schedules the debit, notice first")
    await _live_until_settled(worker, clock)
    await _show_debits(j.console, worker.engine, f"The clock has moved to {_local(clock.now())}")
    debits = await j.call(
        "The channel reads the debit history of the mandate",
        "GET",
        f"/v1/mandates/{mandate['id']}/debits",
        expect=200,
    )
    (debit,) = debits["debits"]
    if debit["status"] != "SUCCEEDED":
        raise SystemExit(f"the debit ended {debit['status']}: {debit.get('reason')}")
    await j.call(
        "The write-off (销账): a payment whose order id is the debit's, with its e-receipt",
        "GET",
        "/v1/payments",
        params={"order_id": debit["id"]},
        expect=200,
    )
    await _deliver_messages(worker)
    _show_taken(j.console, sim)
    await _show_messages(j.console, worker)


async def _issue_bill(engine: AsyncEngine, clock: FrozenClock) -> None:
    due = (clock.now().astimezone(SHANGHAI) + timedelta(days=30)).date()
    csv = (
        "biller,account,holder,bill_no,period,amount,late_fee,due_date\n"
        f"{BILLER},{ACCOUNT},张三,{BILL_NO},2026-11,{AMOUNT},0,{due.isoformat()}\n"
    )
    rows = csvfile.parse_bills(csv.encode(), source="demo bill")
    async with engine.begin() as conn:
        await billing_service.import_bills(conn, clock, rows, source="demo bill")


async def _live_until_settled(worker: WorkerContext, clock: FrozenClock) -> None:
    """Run the engine as the worker would, jumping from one due moment to the next."""
    query = text("SELECT min(next_attempt_at) FROM debits WHERE status IN ('SCHEDULED', 'SENT')")
    for _ in range(50):
        await worker.run_autopay()
        async with worker.engine.connect() as conn:
            due: datetime | None = (await conn.execute(query)).scalar_one()
        if due is None:
            return
        clock.set(max(clock.now(), due))
    raise SystemExit("the debit did not settle")


async def _deliver_messages(worker: WorkerContext) -> None:
    """The worker's outbox and delivery passes: the messages go out through the channel, and
    (with no SMTP server or SMS gateway configured) to the log file."""
    for _ in range(5):
        await worker.dispatch_outbox()
        await worker.deliver_notifications()


async def _show_debits(console: Console, engine: AsyncEngine, title: str) -> None:
    async with engine.connect() as conn:
        debits = (await conn.execute(text("SELECT * FROM debits ORDER BY created_at"))).all()
        attempts = (
            await conn.execute(text("SELECT * FROM debit_attempts ORDER BY debit_id, attempt"))
        ).all()
    table = Table("debit", "amount", "status", "send from", "send by", title=f"\n{title}")
    for d in debits:
        table.add_row(
            d.id, f"{d.amount / 100:.2f}", d.status, _local(d.planned_at), _local(d.deadline)
        )
    console.print(table)
    for a in attempts:
        console.print(f"   {_local(a.at)}  {a.kind} from {a.funding_source}: {a.result}")


def _show_taken(console: Console, sim: ChannelSim) -> None:
    for taken in sim.ledger():
        console.print(
            f"\nThe channel took {taken.amount / 100:.2f} yuan from {taken.funding_source}"
            f" of {taken.payer} ({taken.channel_txn_id})",
            highlight=False,
        )


async def _show_messages(console: Console, worker: WorkerContext) -> None:
    async with worker.engine.connect() as conn:
        biller_id = (
            await conn.execute(text("SELECT id FROM billers WHERE code = :c"), {"c": BILLER})
        ).scalar_one()
        found = [
            m for m in await messages_for(conn, biller_id=biller_id, account_no=ACCOUNT)
            if m.template in AUTOPAY_MESSAGES and m.params.get("bill_no", BILL_NO) == BILL_NO
        ]  # fmt: skip
    table = Table(title="\nWhat the payer read in the wallet app")
    table.add_column("message", overflow="fold")  # Chinese has no spaces to wrap at
    table.add_column("status")
    for message in found:
        if message.recipient_kind == "channel":
            table.add_row(message.own_text.strip(), message.status, end_section=True)
    console.print(table)
    others = {f"{m.recipient_kind} {m.address}" for m in found if m.recipient_kind != "channel"}
    console.print(
        f"The same messages went by {' and '.join(sorted(others))}, to"
        f" {get_notify_settings().log_path} (no SMTP server or SMS gateway is configured)",
        highlight=False,
    )


def _local(moment: Any) -> str:
    return f"{moment.astimezone(SHANGHAI):%m-%d %a %H:%M}" if moment else "-"
