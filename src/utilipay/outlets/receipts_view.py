"""What a receipt shows of the outlet that took a payment (channel-api.md §11): the outlet,
the terminal and the operator, and for store and forward both times. Published to the
receipts area, which reads the outlets' tables only through ``taking_of``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.outlets.tables import outlet_operators, outlet_payments, outlets, terminals


@dataclass(frozen=True, slots=True)
class OutletTaking:
    """Where and by whom a payment was taken at an outlet."""

    outlet_code: str
    outlet_name: str
    terminal_id: str
    terminal_label: str
    operator_code: str | None
    operator_name: str | None
    collected_at: datetime | None  # store and forward: when the cash was taken, offline
    received_at: datetime  # when the hub received the payment


async def taking_of(conn: AsyncConnection, biller_id: int, payment_id: str) -> OutletTaking | None:
    """The outlet's part in a payment; None for a payment a channel took without an outlet."""
    query = (
        select(
            outlets.c.code.label("outlet_code"),
            outlets.c.name.label("outlet_name"),
            terminals.c.id.label("terminal_id"),
            terminals.c.label.label("terminal_label"),
            outlet_payments.c.operator_code,
            outlet_operators.c.name.label("operator_name"),
            outlet_payments.c.collected_at,
            outlet_payments.c.received_at,
        )
        .select_from(
            outlet_payments.join(outlets, outlets.c.id == outlet_payments.c.outlet_id)
            .join(terminals, terminals.c.id == outlet_payments.c.terminal_id)
            .outerjoin(
                outlet_operators,
                and_(
                    outlet_operators.c.outlet_id == outlet_payments.c.outlet_id,
                    outlet_operators.c.code == outlet_payments.c.operator_code,
                ),
            )
        )
        .where(outlet_payments.c.biller_id == biller_id, outlet_payments.c.payment_id == payment_id)
    )
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else OutletTaking(**row)
