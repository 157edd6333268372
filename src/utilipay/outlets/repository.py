"""Reads and writes of the outlets' tables for the management side (``service.py``,
``terminals.py``, ``deposits.py``) and the console: outlets with their float, terminals
(never their secrets, except to the one function that rotates them), operators, deposits.

Published to other areas: ``outlets_of``, ``outlet``, ``terminals_of``, ``operators_of``,
``deposits_of``, ``regions`` (the console).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Row, Text, column, func, insert, select, table, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.outlets.tables import (
    float_deposits,
    outlet_floats,
    outlet_operators,
    outlets,
    terminals,
)

# The channels as their area publishes them (the view ``channels_directory``).
_channels = table("channels_directory", column("id", Integer), column("code", Text))
DEPOSIT_PREFIX = "FLOAT"


def deposit_reference(channel: str, outlet: str) -> str:
    """What an outlet's owner writes on a bank transfer to the float (附言), so that the
    bank statement's line is credited to this outlet: ``FLOAT-<channel>-<outlet>``."""
    return f"{DEPOSIT_PREFIX}-{channel}-{outlet}".upper()


@dataclass(frozen=True, slots=True)
class Outlet:
    id: int
    channel: str
    code: str
    name: str
    kind: str
    region: str
    status: str
    low_threshold: int
    low_since: datetime | None
    owner_name: str | None
    owner_phone: str | None
    owner_email: str | None
    float_account: int
    balance: int
    held: int
    created_at: datetime

    @property
    def available(self) -> int:
        return self.balance - self.held

    @property
    def low(self) -> bool:
        """Below its threshold: what the owner can still spend, not the whole balance."""
        return self.available < self.low_threshold

    @property
    def key(self) -> str:
        """How the audit log and people name it: ``AGENT1.SHOP-0001``."""
        return f"{self.channel}.{self.code}"

    @property
    def deposit_reference(self) -> str:
        return deposit_reference(self.channel, self.code)

    def as_json(self) -> dict[str, object]:
        return {
            "channel": self.channel, "code": self.code, "name": self.name, "kind": self.kind,
            "region": self.region, "status": self.status, "balance": self.balance,
            "held": self.held, "available": self.available,
            "low_threshold": self.low_threshold, "low": self.low,
            "low_since": self.low_since.isoformat() if self.low_since else None,
            "owner_name": self.owner_name, "owner_phone": self.owner_phone,
            "owner_email": self.owner_email, "deposit_reference": self.deposit_reference,
            "created_at": self.created_at.isoformat(),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Terminal:
    id: str
    outlet_id: int
    type: str
    label: str
    status: str
    has_previous_secret: bool
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None

    def as_json(self) -> dict[str, object]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "id": self.id, "type": self.type, "label": self.label, "status": self.status,
            "previous_secret_accepted": self.has_previous_secret,
            "created_at": iso(self.created_at), "rotated_at": iso(self.rotated_at),
            "revoked_at": iso(self.revoked_at),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Operator:
    outlet_id: int
    code: str
    name: str
    status: str
    created_at: datetime

    def as_json(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "status": self.status,
                "created_at": self.created_at.isoformat()}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Deposit:
    id: int
    outlet_id: int
    amount: int
    bank_reference: str
    source: str
    recorded_by: str
    recorded_at: datetime

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "amount": self.amount, "bank_reference": self.bank_reference,
                "source": self.source, "recorded_by": self.recorded_by,
                "recorded_at": self.recorded_at.isoformat()}  # fmt: skip


@dataclass(frozen=True, slots=True)
class OutletFilter:
    channel: str | None = None
    region: str | None = None
    low: bool = False


_OUTLETS = select(
    outlets, _channels.c.code.label("channel"), outlet_floats.c.balance, outlet_floats.c.held
).select_from(
    outlets.join(_channels, _channels.c.id == outlets.c.channel_id).join(
        outlet_floats, outlet_floats.c.outlet_id == outlets.c.id
    )
)


def _outlet(row: Row[tuple[object, ...]]) -> Outlet:
    m = row._mapping
    return Outlet(**{name: m[name] for name in Outlet.__dataclass_fields__})


async def channel_id(conn: AsyncConnection, code: str) -> int | None:
    return await conn.scalar(select(_channels.c.id).where(_channels.c.code == code))


async def outlet(conn: AsyncConnection, channel: str, code: str) -> Outlet | None:
    query = _OUTLETS.where(_channels.c.code == channel, outlets.c.code == code)
    row = (await conn.execute(query)).first()
    return _outlet(row) if row else None


async def outlet_by_id(conn: AsyncConnection, outlet_id: int) -> Outlet:
    return _outlet((await conn.execute(_OUTLETS.where(outlets.c.id == outlet_id))).one())


async def code_taken(conn: AsyncConnection, channel_id: int, code: str) -> str | None:
    """The outlet code of the channel equal to ``code`` but for case, if any: deposit
    references are read without case, so two such outlets could not be told apart."""
    return await conn.scalar(
        select(outlets.c.code).where(
            outlets.c.channel_id == channel_id, func.upper(outlets.c.code) == code.upper()
        )
    )


async def outlets_of(conn: AsyncConnection, where: OutletFilter) -> list[Outlet]:
    query = _OUTLETS.order_by(_channels.c.code, outlets.c.code)
    if where.channel:
        query = query.where(_channels.c.code == where.channel)
    if where.region:
        query = query.where(outlets.c.region == where.region)
    if where.low:
        balance, held = outlet_floats.c.balance, outlet_floats.c.held
        query = query.where(balance - held < outlets.c.low_threshold)
    return [_outlet(row) for row in await conn.execute(query)]


async def insert_outlet(conn: AsyncConnection, **values: object) -> int:
    """The outlet and its float row, empty."""
    outlet_id = int(await conn.scalar(insert(outlets).values(**values).returning(outlets.c.id)))
    await conn.execute(insert(outlet_floats).values(outlet_id=outlet_id, balance=0, held=0))
    return outlet_id


async def update_outlet(conn: AsyncConnection, outlet_id: int, **values: object) -> None:
    await conn.execute(update(outlets).where(outlets.c.id == outlet_id).values(**values))


# Terminals


def _terminal(row: Row[tuple[object, ...]]) -> Terminal:
    m = row._mapping
    return Terminal(
        id=m["id"], outlet_id=m["outlet_id"], type=m["type"], label=m["label"],
        status=m["status"], has_previous_secret=m["previous_secret"] is not None,
        created_at=m["created_at"], rotated_at=m["rotated_at"], revoked_at=m["revoked_at"],
    )  # fmt: skip


async def insert_terminal(conn: AsyncConnection, **values: object) -> None:
    await conn.execute(insert(terminals).values(**values))


async def terminal(conn: AsyncConnection, terminal_id: str) -> Terminal | None:
    row = (await conn.execute(select(terminals).where(terminals.c.id == terminal_id))).first()
    return _terminal(row) if row else None


async def terminals_of(
    conn: AsyncConnection, *, channel: str | None = None, outlet_id: int | None = None
) -> list[tuple[str, Terminal]]:
    """Terminals with their outlet's key (``AGENT1.SHOP-0001``), by outlet and id."""
    key = (_channels.c.code + "." + outlets.c.code).label("outlet_key")
    query = (
        select(terminals, key)
        .select_from(
            terminals.join(outlets, outlets.c.id == terminals.c.outlet_id).join(
                _channels, _channels.c.id == outlets.c.channel_id
            )
        )
        .order_by(key, terminals.c.id)
    )
    if channel:
        query = query.where(_channels.c.code == channel)
    if outlet_id is not None:
        query = query.where(terminals.c.outlet_id == outlet_id)
    return [(row.outlet_key, _terminal(row)) for row in await conn.execute(query)]


async def update_terminal(conn: AsyncConnection, terminal_id: str, **values: object) -> None:
    await conn.execute(update(terminals).where(terminals.c.id == terminal_id).values(**values))


async def rotate_terminal_secret(
    conn: AsyncConnection, terminal_id: str, secret: str, at: datetime
) -> None:
    """The new secret current, the current one kept as the previous (a rotation: one
    step, in the database, so the current secret never leaves it)."""
    await conn.execute(
        update(terminals)
        .where(terminals.c.id == terminal_id)
        .values(previous_secret=terminals.c.secret, secret=secret, rotated_at=at)
    )


# Operators


async def operator(conn: AsyncConnection, outlet_id: int, code: str) -> Operator | None:
    t = outlet_operators.c
    row = (await conn.execute(select(outlet_operators).where(
        t.outlet_id == outlet_id, t.code == code))).first()  # fmt: skip
    return Operator(**row._mapping) if row else None


async def insert_operator(conn: AsyncConnection, **values: object) -> None:
    await conn.execute(insert(outlet_operators).values(**values))


async def operators_of(conn: AsyncConnection, outlet_id: int) -> list[Operator]:
    query = select(outlet_operators).where(outlet_operators.c.outlet_id == outlet_id)
    rows = await conn.execute(query.order_by(outlet_operators.c.code))
    return [Operator(**row._mapping) for row in rows]


async def set_operator_status(
    conn: AsyncConnection, outlet_id: int, code: str, status: str
) -> None:
    t = outlet_operators.c
    await conn.execute(
        update(outlet_operators).where(t.outlet_id == outlet_id, t.code == code).values(
            status=status)
    )  # fmt: skip


# Deposits


async def insert_deposit(conn: AsyncConnection, **values: object) -> int | None:
    """The deposit's id; None when its bank reference was recorded before (by anyone)."""
    found: int | None = await conn.scalar(
        upsert(float_deposits)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["bank_reference"])
        .returning(float_deposits.c.id)
    )
    return found


async def deposit_by_reference(conn: AsyncConnection, bank_reference: str) -> Deposit | None:
    query = select(float_deposits).where(float_deposits.c.bank_reference == bank_reference)
    row = (await conn.execute(query)).first()
    return Deposit(**row._mapping) if row else None


async def deposits_of(conn: AsyncConnection, outlet_id: int, limit: int = 100) -> list[Deposit]:
    query = select(float_deposits).where(float_deposits.c.outlet_id == outlet_id)
    query = query.order_by(float_deposits.c.recorded_at.desc(), float_deposits.c.id.desc())
    return [Deposit(**row._mapping) for row in await conn.execute(query.limit(limit))]


async def credit_float(conn: AsyncConnection, outlet_id: int, amount: int) -> None:
    """A deposit into the float: one update, no read first (concurrent payments lock the
    same row)."""
    await conn.execute(
        update(outlet_floats)
        .where(outlet_floats.c.outlet_id == outlet_id)
        .values(balance=outlet_floats.c.balance + amount)
    )


# Bank statements' credit lines, as recon publishes them (the view ``recon_bank_credits``)
bank_credits = table(
    "recon_bank_credits",
    column("import_id", Integer),
    column("line_no", Integer),
    column("bank_ref", Text),
    column("remittance", Text),
    column("amount", Integer),
    column("currency", Text),
)


@dataclass(frozen=True, slots=True)
class BankCredit:
    import_id: int
    line_no: int
    bank_ref: str
    remittance: str
    amount: int


async def statement_credits(conn: AsyncConnection, import_id: int | None) -> list[BankCredit]:
    """The credit lines of the bank's statements (of one import) that may be deposits:
    in yuan, with the bank's reference and remittance information."""
    c = bank_credits.c
    query = select(c.import_id, c.line_no, c.bank_ref, c.remittance, c.amount).where(
        c.currency == "CNY", c.bank_ref.is_not(None), c.remittance.is_not(None)
    )
    if import_id is not None:
        query = query.where(c.import_id == import_id)
    rows = await conn.execute(query.order_by(c.import_id, c.line_no))
    return [BankCredit(*row) for row in rows]


async def references(conn: AsyncConnection) -> dict[str, int]:
    """Every outlet's deposit reference → the outlet's id."""
    rows = await conn.execute(
        select(_channels.c.code, outlets.c.code, outlets.c.id).join(
            _channels, _channels.c.id == outlets.c.channel_id
        )
    )
    return {deposit_reference(channel, code): outlet_id for channel, code, outlet_id in rows}


async def regions(conn: AsyncConnection) -> list[str]:
    """The regions outlets are in, for choosing one (the console's filter)."""
    return list(await conn.scalars(select(outlets.c.region).distinct().order_by(outlets.c.region)))
