"""The demo's remote utility: a power company on the biller protocol, played by the simulator.

It shows the hub's hardest case: the utility writes a bill off and the reply
is lost (掉单). The payment stays PROCESSING, and the resolver finds out with
``confirm`` (销账结果查询) that it was written off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.protocol.messages import BillItem
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
from utilipay.clock import Clock
from utilipay.db.engine import create_engine
from utilipay.runtime.sample import PAYER
from utilipay.web.server import ServerThread
from utilipay.worker.context import WorkerContext
from utilipay_tools.billersim.app import create_app, quiet_dropped_replies
from utilipay_tools.billersim.faults import FaultPlan, Faults
from utilipay_tools.billersim.simulator import SimConfig, Simulator
from utilipay_tools.demo.steps import Journey

BILLER = "SHPOWER"
KEY = "demo-shpower-key-change-me"
SCHEMA = "billersim_demo"
ACCOUNTS = {
    "0500000001": ("李雷", BillItem("E202610-0001", "202610", 25600, 0, date(2026, 11, 30))),
    "0500000002": ("韩梅梅", BillItem("E202610-0002", "202610", 9999, 120, date(2026, 11, 30))),
}
CONFIG = SimConfig(key=KEY, sign_type=SignType.HMAC_SHA256, biller=BILLER, schema=SCHEMA)


@dataclass
class Utility:
    url: str
    faults: Faults


@contextmanager
def utility(url: URL, clock: Clock) -> Iterator[Utility]:
    """The simulator on its own port, with the demo's accounts."""

    async def prepare() -> None:
        engine = create_engine(url, pool_size=1)
        sim = Simulator(engine, CONFIG, clock)
        await sim.prepare()
        for account, (holder, bill) in ACCOUNTS.items():
            await sim.add_account(account, holder, "浦东新区***", [bill])
        await engine.dispose()

    asyncio.run(prepare())
    faults = Faults(seed=1)
    quiet_dropped_replies()
    with ServerThread(create_app(CONFIG, url, clock=clock, faults=faults)) as base_url:
        yield Utility(base_url, faults)


async def register(conn: AsyncConnection, clock: Clock, base_url: str) -> None:
    if await billers_repo.by_code(conn, BILLER) is not None:
        return
    await billers_service.add_biller(
        conn, clock, code=BILLER, name="上海电力 (demo, remote)", category=Category.ELECTRICITY,
        mode=IntegrationMode.REMOTE, account_rule=r"05\d{8}",
        account_hint="10 digits, starts with 05", region="310000",
        remote=RemoteSettings(
            url=base_url, key=KEY, sign_type=SignType.HMAC_SHA256, confirm_schedule=(1, 5),
            connect_timeout_ms=1000, total_timeout_ms=2000,
        ),
        actor="demo",
    )  # fmt: skip


async def walk(j: Journey, power: Utility, url: URL, clock: Clock) -> None:
    account, (_, bill) = next(iter(ACCOUNTS.items()))
    await j.call("A remote utility: the hub asks it for the bill, live", "GET", "/v1/bills",
                 params={"biller": BILLER, "account": account}, expect=200)  # fmt: skip
    await j.call(
        "Pay it: the hub writes it off at the utility (charge = 销账)", "POST", "/v1/payments",
        json={"order_id": "WX-POWER-1", "biller": BILLER, "account": account,
              "amount": bill.amount, "payer": PAYER}, expect=201,
    )  # fmt: skip
    account, (_, bill) = list(ACCOUNTS.items())[1]
    power.faults.plan = FaultPlan.parse("drop_response=1")
    j.console.print("\n[yellow]The utility will now write the next bill off and lose its reply.[/]")
    lost = await j.call(
        "Pay again: the reply is lost, nobody knows the outcome (掉单), so PROCESSING",
        "POST", "/v1/payments",
        json={"order_id": "WX-POWER-2", "biller": BILLER, "account": account,
              "bill_nos": [bill.billno], "amount": bill.amount + bill.latefee, "payer": PAYER},
        expect=201,
    )  # fmt: skip
    power.faults.plan = FaultPlan()
    await resolve(url, clock, lost["id"])
    await j.call("The worker asked the utility (confirm = 销账结果查询): written off, SUCCEEDED",
                 "GET", f"/v1/payments/{lost['id']}", expect=200)  # fmt: skip
    await show_calls(j.console, url, lost["id"])


async def resolve(url: URL, clock: Clock, payment_id: str) -> None:
    """Run the worker's resolution passes until the payment is final (the first confirm is
    due a second after the lost reply; a busy machine may need a few tries)."""
    worker = WorkerContext.from_url(url, clock)
    await worker.start()
    query = text("SELECT status FROM payments WHERE id = :id")
    try:
        for _ in range(60):
            await asyncio.sleep(0.5)
            await worker.resolve_payments()
            async with worker.engine.connect() as conn:
                if (await conn.execute(query, {"id": payment_id})).scalar_one() != "PROCESSING":
                    return
    finally:
        await worker.stop()


async def show_calls(console: Console, url: URL, payment_id: str) -> None:
    engine = create_engine(url, pool_size=1)
    query = text(
        "SELECT trancode, outcome, detail FROM biller_calls WHERE payment_id = :p ORDER BY id"
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query, {"p": payment_id})).all()
    await engine.dispose()
    table = Table("call", "outcome", "detail", title=f"\nbiller calls of {payment_id}")
    for row in rows:
        table.add_row(row.trancode, row.outcome, row.detail)
    console.print(table)
