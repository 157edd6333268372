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

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.outlets.rows import TERMINAL_SECRET, add_operator, add_outlet, add_terminal, deposit
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock, business_date
from utilipay.ids import new_id
from utilipay.outlets.terminals import Tender, TerminalPayment
from utilipay_tools.client import ChannelClient, TerminalClient

FLOAT = 1_000_000  # fen in each outlet's float at the start


@dataclass(frozen=True, slots=True)
class Outlet:
    id: int
    channel_id: int
    float_account: int
    terminal: str


async def open_outlet(engine: AsyncEngine, clock: Clock, channel: Channel, code: str) -> Outlet:
    """A shop of ``channel`` with a terminal, operators OP1 and OP2 (and OP9, disabled), and
    a float of ``FLOAT`` deposited."""
    async with engine.begin() as conn:
        outlet_id = await add_outlet(conn, clock, channel, code=code)
        terminal = await add_terminal(conn, clock, outlet_id)
        for operator, status in (("OP1", "ACTIVE"), ("OP2", "ACTIVE"), ("OP9", "DISABLED")):
            await add_operator(conn, clock, outlet_id, operator, status)
        await deposit(conn, clock, outlet_id, FLOAT)
        account = await conn.scalar(
            text("SELECT float_account FROM outlets WHERE id = :id"), {"id": outlet_id}
        )
    return Outlet(outlet_id, channel.id, int(account), terminal)


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
