"""The demo's smart payment (智能交费): a prepaid electricity account lives through a week.

The utility puts the account on the Beijing residential tariff and on prepaid;
the payer tops it up through the channel API; each morning the meter's usage of
the day before arrives and the worker's prepaid pass settles it, with a clock the
demo moves one day at a time: the balance falls below the reminder (fee warning),
to zero (outage warning), and after the grace the supply is cut (outage notice
and a disconnect command). A top-up restores it at once.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.calendar.working import next_working
from utilipay.clock import SHANGHAI, FrozenClock, SystemClock, business_date
from utilipay.headend.config import configure
from utilipay.notify.queries import messages_for
from utilipay.prepaid import service as prepaid
from utilipay.readings.files import import_file
from utilipay.runtime.sample import PAYER
from utilipay.tariffs import service as tariffs
from utilipay.web.server import ServerThread
from utilipay.worker.context import WorkerContext
from utilipay_tools.demo.autopay import point_channel_at, wallet
from utilipay_tools.demo.steps import Journey
from utilipay_tools.headendsim.app import app_for
from utilipay_tools.headendsim.simulator import HeadEndSim, HeadEndSimConfig

BILLER = "BJELEC"
ACCOUNT = "0100000099"
METER = "E-0099"
READ_START = Decimal("1520.0")  # the register when the meter was installed
HEAD_END_SECRET = "demo-head-end-secret-change-me"  # noqa: S105 (public demo data)
DAILY_KWH = ("9.5", "12", "11.2", "10.8", "12.5", "9.9", "11")  # 4.64 to 6.10 yuan a day
TOP_UP = 2500  # fen: 25 yuan, just above the 20-yuan reminder


async def walk(j: Journey, url: URL) -> None:
    clock = FrozenClock(_next_working_morning(business_date(SystemClock().now())))
    head_end = HeadEndSim(HeadEndSimConfig(secret=HEAD_END_SECRET, execute_after=0), clock)
    with ServerThread(app_for(head_end)) as head_end_url, wallet(clock) as (_, wallet_url):
        worker = WorkerContext.from_url(url, clock)
        await _set_up(worker.engine, clock, business_date(clock.now()), head_end_url)
        await point_channel_at(worker.engine, clock, wallet_url)
        await worker.start()
        try:
            await _journey(j, worker, clock, head_end)
        finally:
            await worker.stop()


def _next_working_morning(today: date) -> datetime:
    """10:00 on the next working day: cuts happen on working days from 09:00."""
    return datetime.combine(next_working(today + timedelta(days=1)), time(10), tzinfo=SHANGHAI)


async def _set_up(
    engine: AsyncEngine, clock: FrozenClock, first_day: date, head_end_url: str
) -> None:
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code=BILLER, name="国网北京电力 智能交费 (demo)",
            category=Category.ELECTRICITY, mode=IntegrationMode.HOSTED,
            account_rule=r"01\d{8}", region="110000", actor="demo",
        )  # fmt: skip
        await tariffs.load_tariffs(conn, clock, None, "demo")
        await tariffs.assign_tariff(
            conn, clock, biller=BILLER, customer_class="residential",
            tariff_code="BJ_ELEC_RES", effective_from=first_day.replace(day=1), actor="demo",
        )  # fmt: skip
        await configure(conn, clock, BILLER, url=head_end_url, secret=HEAD_END_SECRET,
                        actor="demo")  # fmt: skip
        installed = datetime.combine(first_day, time(0), tzinfo=SHANGHAI)
        meters = (
            "biller,account,holder,meter,service,unit,registers,digits,multiplier,installed_at\n"
            f"{BILLER},{ACCOUNT},王五,{METER},electricity,kWh,total,6,1,{installed.isoformat()}\n"
        )
        await import_file(conn, clock, meters.encode(), source="demo meters", actor="demo")
        await _read(conn, clock, installed, READ_START)
        await prepaid.enroll(conn, clock, BILLER, ACCOUNT, accrue_from=first_day, actor="demo")


async def _journey(
    j: Journey, worker: WorkerContext, clock: FrozenClock, head_end: HeadEndSim
) -> None:
    j.console.print(
        f"\n[bold]Smart payment: {BILLER} puts account {ACCOUNT} (meter {METER}) on prepaid,"
        " tariff BJ_ELEC_RES (0.4883 yuan/kWh up to 240 kWh a month)[/bold]"
    )
    binding = {"payer": PAYER, "biller": BILLER, "account": ACCOUNT,
               "verification": {"holder_name": "王五"}}  # fmt: skip
    await j.call("The payer binds the electricity account, verified by the holder's name"
                 " (the balance is shown only then, §13)", "POST", "/v1/bindings",
                 json=binding, expect=201)  # fmt: skip
    order = {"order_id": "WX-PREPAID-1", "biller": BILLER, "account": ACCOUNT,
             "amount": TOP_UP, "payer": PAYER}  # fmt: skip
    await j.call("A payment without bills tops the balance up (预存电费)", "POST",
                 "/v1/payments", json=order, expect=201)  # fmt: skip
    title = "\nEach morning the meter's reading arrives and the worker settles"
    table = Table("morning of", "yesterday's kWh", "charge", "balance", "state", "meter",
                  title=title)  # fmt: skip
    register = READ_START
    for kwh in (*DAILY_KWH, None):
        day = business_date(clock.now())
        clock.set(_next_working_morning(day) if kwh is None else clock.now() + timedelta(days=1))
        if kwh is not None:  # the last morning only waits for the next working day's cut
            register += Decimal(kwh)
            midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)
            async with worker.engine.begin() as conn:
                await _read(conn, clock, midnight, register)
        await worker.run_prepaid()
        await _catch_up(worker)
        row = await _standing(worker.engine)
        charge = f"{row.charge / 100:.2f}" if kwh else "-"
        table.add_row(f"{business_date(clock.now()):%m-%d %a}", kwh or "-", charge,
                      f"{row.balance / 100:.2f}", row.state,
                      head_end.book.meter(METER).relay)  # fmt: skip
    j.console.print(table)
    order = {**order, "order_id": "WX-PREPAID-2", "amount": 10000}
    await j.call("The payer tops up 100 yuan: the reconnect goes out at once", "POST",
                 "/v1/payments", json=order, expect=201)  # fmt: skip
    await _catch_up(worker)
    j.console.print(f"   the head-end says meter {METER} is {head_end.book.meter(METER).relay}")
    await j.call("The payer reads balance and daily use (a landlord could too)", "GET",
                 "/v1/prepaid", params={"biller": BILLER, "account": ACCOUNT, "payer": PAYER,
                                        "days": "3"}, expect=200)  # fmt: skip
    await _show_messages(j, worker)


async def _catch_up(worker: WorkerContext) -> None:
    """What the worker does within seconds: events to commands and messages, delivered."""
    for _ in range(3):
        await worker.dispatch_outbox()
        await worker.deliver_meter_commands()
        await worker.deliver_notifications()


async def _read(conn: AsyncConnection, clock: FrozenClock, at: datetime, value: Decimal) -> None:
    """The meter's register at midnight, as the utility's collection system sends it."""
    reads = (
        "biller,meter,register,read_at,value,quality\n"
        f"{BILLER},{METER},total,{at.isoformat()},{value},actual\n"
    )
    await import_file(conn, clock, reads.encode(), source=f"demo reads {at:%Y-%m-%d}",
                      actor="demo")  # fmt: skip


async def _standing(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT pa.balance, pa.state, coalesce(a.posted, 0) AS charge"
                    " FROM prepaid_accounts pa LEFT JOIN prepaid_accruals a"
                    "   ON a.biller_id = pa.biller_id AND a.account_no = pa.account_no"
                    "  AND a.day = pa.accrued_through WHERE pa.account_no = :a"
                ),
                {"a": ACCOUNT},
            )
        ).one()


async def _show_messages(j: Journey, worker: WorkerContext) -> None:
    async with worker.engine.connect() as conn:
        biller_id = (
            await conn.execute(text("SELECT id FROM billers WHERE code = :c"), {"c": BILLER})
        ).scalar_one()
        found = await messages_for(conn, biller_id=biller_id, account_no=ACCOUNT)
    table = Table(title="\nWhat the payer read in the wallet app")
    table.add_column("message", overflow="fold")
    table.add_column("status")
    for message in found:
        if message.recipient_kind == "channel":
            table.add_row(message.own_text.strip(), message.status, end_section=True)
    j.console.print(table)
