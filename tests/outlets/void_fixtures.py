"""TEMPORARY: terminal payments for the void and shift-close tests, until the terminal
payment path (the "pay" work of issue 12: terminal authentication, the float taken in the
write-off's transaction) is merged. After the merge these helpers call that path instead,
and only their bodies change.

What they make is what that path is designed to leave (docs: the front line's design):

- an outlet with its float row and OUTLET_FLOAT account (of its channel), a terminal, an
  ACTIVE operator ``OP1`` and a DISABLED one ``OP9``;
- a hosted terminal payment: ``pay_hosted`` with the outlet's float account as the
  receivable its PAYMENT entry debits (as the terminal path passes it), then the
  ``outlet_payments`` row (float_state TAKEN) and the float row lowered, in SQL;
- a remote terminal payment: the channel's ordinary remote payment, then the same two rows.
  Its PAYMENT entry debits the channel's receivable, not the float, since the remote path
  knows no outlet yet: the books' checks are asserted on hosted payments only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.channels.schemas import Channel
from utilipay.clock import Clock, business_date
from utilipay.ids import new_id
from utilipay.outlets.tables import terminals
from utilipay_tools.client import ChannelClient

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
            text("INSERT INTO outlet_floats (outlet_id, balance, held) VALUES (:o, :b, 0)"),
            {"o": outlet_id, "b": FLOAT},
        )
        terminal = f"T-{code}"
        await conn.execute(
            insert(terminals).values(
                id=terminal, outlet_id=outlet_id, type="pos_fixed", label="counter POS",
                secret="terminal-secret-0123456789", status="ACTIVE", created_at=now,
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
    return Outlet(int(outlet_id), channel.id, int(account), terminal)


async def taken_by(
    conn: AsyncConnection, clock: Clock, outlet: Outlet, biller_id: int, payment_id: str,
    amount: int, *, tender: str = "cash", operator: str = "OP1",
) -> None:  # fmt: skip
    """The outlet's record of a written-off payment, its amount taken from the float."""
    await conn.execute(
        text(
            "INSERT INTO outlet_payments (biller_id, payment_id, outlet_id, terminal_id,"
            " operator_code, tender, amount, received_at, float_state)"
            " VALUES (:b, :p, :o, :t, :op, :tender, :amount, :now, 'TAKEN')"
        ),
        {"b": biller_id, "p": payment_id, "o": outlet.id, "t": outlet.terminal, "op": operator,
         "tender": tender, "amount": amount, "now": clock.now()},
    )  # fmt: skip
    await conn.execute(
        text("UPDATE outlet_floats SET balance = balance - :a WHERE outlet_id = :o"),
        {"a": amount, "o": outlet.id},
    )


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
                    " :now, :prefix, :float, :payable) r"
                ),
                {"id": new_id("P"), "channel": outlet.channel_id, "order": new_id("O"),
                 "biller": biller_id, "account": account, "amount": amount, "bill": bill_no,
                 "now": now, "prefix": f"R{business_date(now):%Y%m%d}",
                 "float": outlet.float_account, "payable": payable},
            )
        ).one()  # fmt: skip
        assert row.outcome == "CREATED", row
        await taken_by(conn, clock, outlet, biller_id, row.id, amount, tender=tender,
                       operator=operator)  # fmt: skip
    return str(row.id)


async def remote_terminal_payment(
    client: ChannelClient, engine: AsyncEngine, clock: Clock, outlet: Outlet, biller_id: int,
    body: dict[str, Any],
) -> str:  # fmt: skip
    """A remote terminal payment, written off at the utility; its id."""
    r = await client.call("POST", "/v1/payments", json=body)
    assert r.status_code == 201 and r.json()["status"] == "SUCCEEDED", r.text
    async with engine.begin() as conn:
        await taken_by(conn, clock, outlet, biller_id, r.json()["id"], body["amount"])
    return str(r.json()["id"])
