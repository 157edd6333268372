"""An outlet with terminal payments for the void and shift-close tests.

- an outlet with its float (deposited through the management service, booked in the
  ledger), a terminal, ACTIVE operators ``OP1`` and ``OP2`` and a DISABLED one ``OP9``;
- a hosted terminal payment: ``pay_hosted`` with the terminal's part, as the terminal
  payment path calls it (the float taken, the PAYMENT entry on the float, the
  ``outlet_payments`` row, in the write-off's transaction);
- a remote terminal payment: signed by the terminal over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.channels.schemas import Channel
from utilipay.clock import Clock, business_date
from utilipay.ids import new_id
from utilipay.outlets import deposits
from utilipay.outlets.tables import terminals
from utilipay.outlets.terminals import Tender, TerminalPayment
from utilipay_tools.client import ChannelClient, TerminalClient

TERMINAL_SECRET = "terminal-secret-0123456789abcdef"

FLOAT = 1_000_000  # fen in each outlet's float at the start


@dataclass(frozen=True, slots=True)
class Outlet:
    id: int
    channel_id: int
    float_account: int
    terminal: str


async def open_outlet(engine: AsyncEngine, clock: Clock, channel: Channel, code: str) -> Outlet:
    """A shop of ``channel`` (one per channel: the chart has one float account per channel
    until the outlets' management opens one per outlet)."""
    now = clock.now()
    async with engine.begin() as conn:
        account = await conn.scalar(
            text(
                "INSERT INTO ledger_accounts (code, kind, currency, created_at, channel_id)"
                " VALUES (:code, 'OUTLET_FLOAT', 'CNY', :now, :channel) RETURNING id"
            ),
            {"code": f"OUTLET_FLOAT:{channel.code}/{code}:CNY", "now": now, "channel": channel.id},
        )
        outlet_id = await conn.scalar(
            text(
                "INSERT INTO outlets (channel_id, code, name, kind, region, status, low_threshold,"
                " float_account, created_at) VALUES (:channel, :code, '村口小卖部', 'shop',"
                " '350500', 'ACTIVE', 0, :account, :now) RETURNING id"
            ),
            {"channel": channel.id, "code": code, "account": account, "now": now},
        )
        await conn.execute(
            text("INSERT INTO outlet_floats (outlet_id, balance, held) VALUES (:o, 0, 0)"),
            {"o": outlet_id},
        )
        terminal = f"T-{code}"
        await conn.execute(
            insert(terminals).values(
                id=terminal, outlet_id=outlet_id, type="pos_fixed", label="counter POS",
                secret=TERMINAL_SECRET, status="ACTIVE", created_at=now,
            )
        )  # fmt: skip
        for operator, status in (("OP1", "ACTIVE"), ("OP2", "ACTIVE"), ("OP9", "DISABLED")):
            await conn.execute(
                text(
                    "INSERT INTO outlet_operators (outlet_id, code, name, status, created_at)"
                    " VALUES (:o, :code, '收费员', :status, :now)"
                ),
                {"o": outlet_id, "code": operator, "status": status, "now": now},
            )
        await deposits.record_deposit(
            conn, clock, channel=channel.code, outlet=code, amount=FLOAT,
            bank_reference=f"FIXTURE-{channel.code}-{code}", actor="test",
        )  # fmt: skip
    return Outlet(int(outlet_id), channel.id, int(account), terminal)


async def hosted_terminal_payment(
    engine: AsyncEngine, clock: Clock, outlet: Outlet, biller_id: int, payable: int,
    bill_no: str, amount: int, *, account: str = "0112345678", tender: str = "cash",
    operator: str = "OP1",
) -> str:  # fmt: skip
    """A hosted terminal payment of one bill, written off; its id."""
    now = clock.now()
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT r.outcome, (r.payment).id FROM pay_hosted(:id, :channel, NULL,"
                    " :order, '\\x00'::bytea, :biller, :account, :amount, ARRAY[:bill], 'payer',"
                    " :now, :prefix, :float, :payable, CAST(:terminal AS jsonb)) r"
                ),
                {"id": new_id("P"), "channel": outlet.channel_id, "order": new_id("O"),
                 "biller": biller_id, "account": account, "amount": amount, "bill": bill_no,
                 "now": now, "prefix": f"R{business_date(now):%Y%m%d}",
                 "float": outlet.float_account, "payable": payable,
                 "terminal": TerminalPayment(outlet.terminal, outlet.id, outlet.float_account,
                                             operator, Tender(tender), None).as_json()},
            )
        ).one()  # fmt: skip
        assert row.outcome == "CREATED", row
    return str(row.id)


async def remote_terminal_payment(
    client: ChannelClient, engine: AsyncEngine, clock: Clock, outlet: Outlet, biller_id: int,
    body: dict[str, Any],
) -> str:  # fmt: skip
    """A remote terminal payment by OP1, written off at the utility; its id."""
    terminal = TerminalClient(client.http, client.code, outlet.terminal, TERMINAL_SECRET, clock)
    r = await terminal.call("POST", "/v1/payments", json={**body, "operator": "OP1"})
    assert r.status_code == 201 and r.json()["status"] == "SUCCEEDED", r.text
    return str(r.json()["id"])
