"""One request in, one signed reply out: framing, checks and the books, without faults.

The order is the protocol's: refuse an oversize body, verify the signature,
then parse (the protocol library does all three); check the message was meant
for this transaction and this utility; run the transaction in one database
transaction. Whatever goes wrong is a signed protocol answer (8001, 8002,
9999), never an HTTP error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers.protocol.codes import Code, ProtocolError
from utilipay.billers.protocol.framing import SignType, frame, unframe
from utilipay.billers.protocol.messages import (
    BillItem,
    Body,
    ChargeRequest,
    ConfirmRequest,
    Head,
    Message,
    QueryRequest,
    RefundRequest,
    Trancode,
    parse_request,
    render,
    salvage_head,
)
from utilipay.clock import Clock, SystemClock
from utilipay_tools.billersim import books, records, seeding
from utilipay_tools.billersim.ddl import prepare_schema
from utilipay_tools.billersim.tables import check_schema_name, tables_for

log = structlog.get_logger(__name__)
UNREAD = "UNKNOWN"  # the serial of a reply to a request whose head could not be read
_MAX_MSG = 256  # what a receiver accepts in <msg>


@dataclass(frozen=True, slots=True)
class SimConfig:
    key: str
    sign_type: SignType = SignType.HMAC_SHA256
    previous_key: str | None = None  # still accepted during a key rotation
    biller: str = "BJWATER"  # this utility's code at the hub
    schema: str = "billersim"

    def __post_init__(self) -> None:
        check_schema_name(self.schema)
        if not self.key:  # an empty key signs nothing: anyone could forge a charge
            raise ValueError("the shared key must not be empty")

    @property
    def keys(self) -> list[str]:
        return [self.key] if self.previous_key is None else [self.key, self.previous_key]


class Simulator:
    """A utility's billing system on ``engine``, answering biller-protocol requests."""

    def __init__(self, engine: AsyncEngine, config: SimConfig, clock: Clock | None = None) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock or SystemClock()
        self.tables = tables_for(config.schema)

    async def prepare(self) -> None:
        """Create the schema and tables if they are missing."""
        async with self.engine.begin() as conn:
            await prepare_schema(conn, self.config.schema)

    async def handle(self, trancode: Trancode, body: bytes, *, busy: bool = False) -> bytes:
        """The signed reply to ``body`` posted to ``trancode``'s URL; with ``busy``, 9999
        instead of acting on it (a well-formed request still gets its own head back)."""
        try:
            xml = unframe(self.config.sign_type, self.config.keys, body)
        except ProtocolError as refused:  # nothing of the message may be read
            return self.refuse(trancode, refused)
        try:
            message = self._parse(trancode, xml)
        except ProtocolError as refused:
            head = salvage_head(xml, self._blank_head(trancode))
            return self._reply(head, refused.code, refused.detail)
        if busy:
            return self._reply(message.head, Code.BUSY, "busy, try again later")
        try:
            outcome = await self._process(message)
        except Exception as exc:  # the transaction rolled back: nothing happened
            log.error(
                "billersim.failed", trancode=trancode, serial=message.head.serial, error=repr(exc)
            )
            outcome = books.Outcome(Code.BUSY, "internal error")
        return self._reply(message.head, outcome.code, outcome.msg, outcome.body)

    def refuse(self, trancode: Trancode, refused: ProtocolError) -> bytes:
        """The signed refusal of a request none of which could be read (oversize, forged)."""
        return self._reply(self._blank_head(trancode), refused.code, refused.detail)

    def _parse(self, trancode: Trancode, xml: bytes) -> Message:
        message = parse_request(xml)
        if message.head.trancode is not trancode:
            raise ProtocolError(
                Code.MALFORMED, f"a {message.head.trancode} message posted for {trancode}"
            )
        if message.head.biller != self.config.biller:
            raise ProtocolError(
                Code.MALFORMED, f"this is biller {self.config.biller}, not {message.head.biller}"
            )
        return message

    async def _process(self, message: Message) -> books.Outcome:
        t, clock = self.tables, self.clock
        async with self.engine.begin() as conn:
            match message.body:
                case QueryRequest(account=account):
                    return await books.query(conn, t, account)
                case ChargeRequest() as req:
                    return await books.charge(conn, t, clock, req)
                case ConfirmRequest(orderno=orderno):
                    # confirm never changes anything; the database holds it to that.
                    await conn.execute(text("SET TRANSACTION READ ONLY"))
                    return await books.confirm(conn, t, orderno)
                case RefundRequest() as req:
                    return await books.refund(conn, t, clock, req)
                case other:
                    raise TypeError(f"no transaction for {type(other).__name__}")

    def _blank_head(self, trancode: Trancode) -> Head:
        return Head(trancode, self.config.biller, UNREAD, self.clock.now())

    def _reply(self, head: Head, code: Code, msg: str, body: Body | None = None) -> bytes:
        answer = head.answer(code, msg[:_MAX_MSG], self.clock.now())
        return frame(self.config.sign_type, self.config.key, render(answer, body))

    # ------------------------------------------------------------ books, for callers

    async def add_account(
        self, account_no: str, holder: str, address: str, bills: Sequence[BillItem] = ()
    ) -> None:
        async with self.engine.begin() as conn:
            await seeding.add_account(conn, self.config.schema, account_no, holder, address, bills)

    async def issue_bills(self, account_no: str, bills: Sequence[BillItem]) -> None:
        async with self.engine.begin() as conn:
            await seeding.issue_bills(conn, self.config.schema, account_no, bills)

    async def seed_accounts(self, count: int, seed: int, *, prefix: str = "01") -> list[str]:
        async with self.engine.begin() as conn:
            return await seeding.seed_accounts(
                conn, self.config.schema, self.clock, count, seed, prefix=prefix
            )

    async def statement_lines(self, day: date) -> list[str]:
        async with self.engine.connect() as conn:
            return await records.statement_lines(conn, self.config.schema, self.config.biller, day)

    async def standing_write_offs(self) -> dict[str, bool]:
        async with self.engine.connect() as conn:
            return await records.standing_write_offs(conn, self.config.schema)
