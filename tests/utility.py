"""A remote utility for tests: the biller simulator on a real socket, registered with the hub."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.protocol.messages import BillItem
from utilipay.billers.schemas import Biller, Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
from utilipay.clock import Clock
from utilipay.web.server import ServerThread
from utilipay_tools.billersim.app import create_app, quiet_dropped_replies
from utilipay_tools.billersim.ddl import drop_schema
from utilipay_tools.billersim.faults import FaultPlan, Faults
from utilipay_tools.billersim.simulator import SimConfig, Simulator

KEY = "utility-shared-key-0123456789"
CODE = "RWATER"


@dataclass
class Utility:
    sim: Simulator
    faults: Faults
    biller: Biller
    url: str
    accounts: set[str] = field(default_factory=set)

    def fail_with(self, spec: str) -> None:
        """Every request from now on draws from ``spec`` ('' for none)."""
        self.faults.plan = FaultPlan.parse(spec, timeout_delay=1.5, slow_delay=(0.1, 0.2))

    async def bill(self, account: str, bill_no: str, amount: int, late_fee: int = 0) -> None:
        """A new bill at the utility (the account is opened with its first bill)."""
        item = BillItem(bill_no, "202610", amount, late_fee, date(2026, 11, 30))
        if account in self.accounts:
            await self.sim.issue_bills(account, [item])
        else:
            await self.sim.add_account(account, "王小明", "朝阳区建国路1号", [item])
            self.accounts.add(account)


@asynccontextmanager
async def remote_utility(
    engine: AsyncEngine,
    db_url: URL,
    clock: Clock,
    hub: Any,
    *,
    sign_type: SignType = SignType.HMAC_SHA256,
    schedule: tuple[int, ...] = (5, 30),
    deadline_s: int = 3600,
    max_refund_attempts: int = 3,
) -> AsyncIterator[Utility]:
    schema = f"billersim_{os.getpid()}"
    config = SimConfig(key=KEY, sign_type=sign_type, biller=CODE, schema=schema)
    sim = Simulator(engine, config, clock)
    await sim.prepare()
    faults = Faults(seed=11)
    quiet_dropped_replies()
    try:
        with ServerThread(create_app(config, db_url, clock=clock, faults=faults)) as base_url:
            async with engine.begin() as conn:
                biller = await billers_service.add_biller(
                    conn, clock, code=CODE, name="远程水务", category=Category.WATER,
                    mode=IntegrationMode.REMOTE, account_rule=r"[0-9]{10}",
                    remote=RemoteSettings(
                        url=base_url, key=KEY, sign_type=sign_type, confirm_schedule=schedule,
                        resolution_deadline_s=deadline_s, connect_timeout_ms=1000,
                        total_timeout_ms=1000, max_refund_attempts=max_refund_attempts,
                    ),
                    actor="test",
                )  # fmt: skip
            await hub.directory.reload()
            yield Utility(sim, faults, biller, base_url)
    finally:
        async with engine.begin() as conn:
            await drop_schema(conn, schema)
