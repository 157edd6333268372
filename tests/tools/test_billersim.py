"""The biller simulator: a faithful utility, driven over HTTP exactly as the hub drives one.

Every test gets the simulator's own schema, made fresh and dropped afterwards.
Replies are checked the way the hub reads them: signature first, then parsed
by the protocol library.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import typer
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.conftest import WATER_RULE, raw_connect
from tests.helpers import until_waiting_on_locks
from utilipay.billers.protocol.codes import Code
from utilipay.billers.protocol.framing import MAX_MESSAGE, SignType, frame, unframe
from utilipay.billers.protocol.messages import (
    BillItem,
    Body,
    ChargeAnswer,
    ChargeRequest,
    ConfirmAnswer,
    ConfirmRequest,
    Head,
    Message,
    OrderStatus,
    QueryAnswer,
    QueryRequest,
    RefundAnswer,
    RefundRequest,
    Trancode,
    parse_response,
    render,
)
from utilipay.clock import FrozenClock
from utilipay.web.server import ServerThread
from utilipay_tools.billersim.app import ReplyDropped, create_app
from utilipay_tools.billersim.ddl import drop_schema
from utilipay_tools.billersim.faults import Fault, FaultKind, FaultPlan, Faults
from utilipay_tools.billersim.simulator import UNREAD, SimConfig, Simulator
from utilipay_tools.cli.billersim import biller_sim, prepare

SCHEMA = "billersim_test"
KEY = "billersim-test-key-0123456789"
OLD_KEY = "billersim-old-key-0123456789"
CONFIG = SimConfig(key=KEY, schema=SCHEMA)
ZHANG = "0112345678"  # two bills: 123.45 and 80.00 + 0.40 late fee
LI = "2598765432"  # one bill: 50.00
NOBODY_OWES = "0100000000"
OCT = BillItem("B202610-0001", "202610", 12345, 0, date(2026, 11, 30))
SEP = BillItem("B202609-0001", "202609", 8000, 40, date(2026, 10, 31))
LI_OCT = BillItem("B202610-0002", "202610", 5000, 0, date(2026, 11, 30))
AT = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)


# ---------------------------------------------------------------- fixtures and helpers


async def _drop(engine: AsyncEngine, schema: str = SCHEMA) -> None:
    async with engine.begin() as conn:
        await drop_schema(conn, schema)


@pytest.fixture
async def sim(engine: AsyncEngine, clock: FrozenClock) -> AsyncIterator[Simulator]:
    await _drop(engine)
    simulator = Simulator(engine, CONFIG, clock)
    await simulator.prepare()
    await simulator.add_account(ZHANG, "张三", "东城区和平里1号", [OCT, SEP])
    await simulator.add_account(LI, "李四", "朝阳区望京2号", [LI_OCT])
    await simulator.add_account(NOBODY_OWES, "王五", "")
    yield simulator
    await _drop(engine)


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim.test")


@pytest.fixture
async def http(
    sim: Simulator, engine: AsyncEngine, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(CONFIG, engine, clock=clock)) as client:
        yield client


def signed(
    body: Body,
    *,
    key: str = KEY,
    sign_type: SignType = SignType.HMAC_SHA256,
    serial: str = "S0001",
    biller: str = "BJWATER",
) -> bytes:
    return frame(sign_type, key, render(Head(body.trancode, biller, serial, AT), body))


async def post(client: httpx.AsyncClient, trancode: Trancode, data: bytes) -> Message:
    """POST raw bytes; the reply must be 200, signed with the current key, and parse."""
    response = await client.post(
        f"/{trancode}", content=data, headers={"content-type": "application/xml; charset=utf-8"}
    )
    assert response.status_code == 200, response.text
    return parse_response(unframe(SignType.HMAC_SHA256, [KEY], response.content), trancode)


async def call(client: httpx.AsyncClient, body: Body, **options: Any) -> Message:
    return await post(client, body.trancode, signed(body, **options))


def charge_of(
    orderno: str, *bills: BillItem, account: str = ZHANG, amount: int | None = None
) -> ChargeRequest:
    total = sum(b.amount + b.latefee for b in bills) if amount is None else amount
    return ChargeRequest(account, orderno, total, tuple(b.billno for b in bills), "WECHAT", AT)


def refund_of(orderno: str, amount: int) -> RefundRequest:
    return RefundRequest(orderno, amount, "unknown outcome")


async def orders(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT * FROM {SCHEMA}.orders"))
        return {r.orderno: r for r in rows}


async def paid_by(engine: AsyncEngine) -> dict[str, str | None]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT bill_no, paid_by FROM {SCHEMA}.bills"))
        return {r.bill_no: r.paid_by for r in rows}


async def books(engine: AsyncEngine) -> tuple[dict[str, Any], dict[str, str | None]]:
    return await orders(engine), await paid_by(engine)


def code(message: Message) -> Code | None:
    return message.head.code


# ---------------------------------------------------------------- schema and seeding


async def test_the_schema_is_its_own_and_made_idempotently(
    sim: Simulator, engine: AsyncEngine
) -> None:
    await sim.prepare()  # a second start changes nothing and fails nothing
    async with engine.connect() as conn:
        columns = {
            (r.table_name, r.column_name): r.data_type
            for r in await conn.execute(
                text(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = :s"
                ),
                {"s": SCHEMA},
            )
        }
        hub_tables = set(
            (
                await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                )
            ).scalars()
        )
    assert {t for t, _ in columns} == {"accounts", "bills", "orders"}
    assert columns["bills", "amount"] == columns["bills", "late_fee"] == "bigint"
    assert columns["orders", "amount"] == "bigint"
    assert columns["orders", "written_off_at"] == "timestamp with time zone"
    assert columns["orders", "reversed_at"] == "timestamp with time zone"
    assert "orders" not in hub_tables  # nothing lands in the hub's own schema


async def _bills_in(engine: AsyncEngine, schema: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(f"SELECT * FROM {schema}.bills ORDER BY bill_no")))


async def test_seeding_is_deterministic_and_fits_an_account_rule(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    first = Simulator(engine, CONFIG, clock)
    second = Simulator(engine, SimConfig(key=KEY, schema="billersim_test_seed"), clock)
    try:
        for s in (first, second):
            await _drop(engine, s.config.schema)
            await s.prepare()
        numbers = await first.seed_accounts(25, 7)
        assert numbers == await second.seed_accounts(25, 7)
        bills = await _bills_in(engine, SCHEMA)
        assert bills == await _bills_in(engine, "billersim_test_seed")
        assert await first.seed_accounts(25, 7) == numbers
        assert await _bills_in(engine, SCHEMA) == bills  # seeding again adds nothing

        assert len(set(numbers)) == 25
        assert all(re.fullmatch(WATER_RULE, n) for n in numbers)
        assert {b.account_no for b in bills} == set(numbers)  # everyone owes something
        assert all(b.paid_by is None and b.amount > 0 for b in bills)
        assert {b.period for b in bills} <= {"202610", "202609", "202608"}  # before Nov 2026
        assert all(b.late_fee == 0 for b in bills if b.period == "202610")
        assert all(n.startswith("25") for n in await second.seed_accounts(3, 1, prefix="25"))
    finally:
        for s in (first, second):
            await _drop(engine, s.config.schema)


async def test_seeded_accounts_are_queryable(sim: Simulator, http: httpx.AsyncClient) -> None:
    account = (await sim.seed_accounts(3, 11))[0]
    reply = await call(http, QueryRequest(account))
    assert code(reply) is Code.OK
    assert isinstance(reply.body, QueryAnswer) and reply.body.bills


# ---------------------------------------------------------------- query


async def test_query_lists_unpaid_bills_with_masked_holder(http: httpx.AsyncClient) -> None:
    reply = await call(http, QueryRequest(ZHANG), serial="Q0001")
    assert (reply.head.code, reply.head.serial, reply.head.trancode) == (
        Code.OK,
        "Q0001",
        Trancode.QUERY,
    )
    assert reply.body == QueryAnswer(ZHANG, "张*", "东城区***", (SEP, OCT), 12345 + 8000 + 40)


async def test_query_unknown_account_and_nothing_due(http: httpx.AsyncClient) -> None:
    assert code(await call(http, QueryRequest("0199999999"))) is Code.ACCOUNT_NOT_FOUND
    assert code(await call(http, QueryRequest(NOBODY_OWES))) is Code.NOTHING_DUE
    assert code(await call(http, charge_of("P-LI", LI_OCT, account=LI))) is Code.OK
    assert code(await call(http, QueryRequest(LI))) is Code.NOTHING_DUE


# ---------------------------------------------------------------- charge


async def test_charge_writes_the_bills_off(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock
) -> None:
    reply = await call(http, charge_of("P-1", OCT))
    assert code(reply) is Code.OK
    assert isinstance(reply.body, ChargeAnswer)
    assert (reply.body.orderno, reply.body.amount) == ("P-1", 12345)
    order = (await orders(engine))["P-1"]
    assert (order.status, order.billerserial, order.account_no) == (
        "WRITTEN_OFF",
        reply.body.billerserial,
        ZHANG,
    )
    assert (order.amount, order.bill_nos, order.channel) == (12345, [OCT.billno], "WECHAT")
    assert order.written_off_at == clock.now() and order.reversed_at is None
    assert (await paid_by(engine))[OCT.billno] == "P-1"
    left = await call(http, QueryRequest(ZHANG))
    assert isinstance(left.body, QueryAnswer) and left.body.bills == (SEP,)


async def test_a_repeated_charge_answers_the_original_write_off(
    http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    first = await call(http, charge_of("P-1", OCT, SEP), serial="C1")
    again = await call(http, charge_of("P-1", OCT, SEP), serial="C2")
    # Even a retry that (wrongly) says something else gets the write-off that was made.
    odd = await call(http, charge_of("P-1", LI_OCT, account=LI), serial="C3")
    assert code(first) is code(again) is code(odd) is Code.OK
    assert first.body == again.body == odd.body
    assert again.head.serial == "C2"
    assert list(await orders(engine)) == ["P-1"]
    assert (await paid_by(engine))[LI_OCT.billno] is None


@pytest.mark.parametrize(
    ("charge", "expected", "needle"),
    [
        (charge_of("P-X", OCT, account="0199999999"), Code.ACCOUNT_NOT_FOUND, "no account"),
        (charge_of("P-X", LI_OCT), Code.NOTHING_DUE, "B202610-0002"),  # another account's bill
        (
            ChargeRequest(ZHANG, "P-X", 1, ("B-NONE",), "WECHAT", AT),
            Code.NOTHING_DUE,
            "B-NONE",
        ),
        (charge_of("P-X", OCT, amount=12344), Code.AMOUNT_MISMATCH, "12345"),
        (charge_of("P-X", OCT, SEP, amount=20345), Code.AMOUNT_MISMATCH, "20385"),  # no late fee
        (charge_of("P-X", OCT, OCT), Code.MALFORMED, "twice"),
    ],
)
async def test_refused_charges_write_nothing(
    http: httpx.AsyncClient, engine: AsyncEngine, charge: ChargeRequest, expected: Code, needle: str
) -> None:
    before = await books(engine)
    reply = await call(http, charge)
    assert code(reply) is expected
    assert needle in reply.head.msg
    assert reply.body is None
    assert await books(engine) == before


async def test_a_bill_paid_by_another_order_is_1004(
    http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert code(await call(http, charge_of("P-1", OCT))) is Code.OK
    reply = await call(http, charge_of("P-2", SEP, OCT))
    assert code(reply) is Code.BILL_PAID_BY_OTHER_ORDER
    assert list(await orders(engine)) == ["P-1"]
    assert (await paid_by(engine))[SEP.billno] is None  # nothing of the refused order stuck


# ---------------------------------------------------------------- confirm


async def confirm(client: httpx.AsyncClient, orderno: str) -> ConfirmAnswer:
    reply = await call(client, ConfirmRequest(orderno))
    assert code(reply) is Code.OK
    assert isinstance(reply.body, ConfirmAnswer)
    return reply.body


async def test_confirm_tells_each_state_and_changes_nothing(
    http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert await confirm(http, "P-1") == ConfirmAnswer("P-1", OrderStatus.NOTFOUND)
    assert await orders(engine) == {}  # asking does not make the order known
    charged = await call(http, charge_of("P-1", OCT))
    assert isinstance(charged.body, ChargeAnswer)
    serial = charged.body.billerserial
    before = await books(engine)
    assert await confirm(http, "P-1") == ConfirmAnswer("P-1", OrderStatus.SUCCESS, serial, 12345)
    assert await books(engine) == before
    await call(http, refund_of("P-1", 12345))
    assert await confirm(http, "P-1") == ConfirmAnswer("P-1", OrderStatus.REVERSED, serial, 12345)
    await call(http, refund_of("P-2", 500))  # refunded before any charge
    assert await confirm(http, "P-2") == ConfirmAnswer("P-2", OrderStatus.FAILED)


async def test_confirm_says_processing_while_a_charge_is_in_flight(
    http: httpx.AsyncClient, raw_dsn: Any
) -> None:
    blocker = await raw_connect(raw_dsn)
    watcher = await raw_connect(raw_dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute(f"SELECT * FROM {SCHEMA}.bills FOR UPDATE")
        charging = asyncio.create_task(call(http, charge_of("P-1", OCT)))
        await until_waiting_on_locks(watcher, 1)  # the charge holds its orderno, waits for the bill
        assert (await confirm(http, "P-1")).status is OrderStatus.PROCESSING
        assert (await confirm(http, "P-OTHER")).status is OrderStatus.NOTFOUND
        await tx.rollback()
        assert code(await charging) is Code.OK
        assert (await confirm(http, "P-1")).status is OrderStatus.SUCCESS
    finally:
        await blocker.close()
        await watcher.close()


# ---------------------------------------------------------------- refund


async def test_refund_undoes_a_write_off_idempotently(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock
) -> None:
    charged = await call(http, charge_of("P-1", OCT, SEP))
    assert isinstance(charged.body, ChargeAnswer)
    clock.advance(timedelta(minutes=5))
    first = await call(http, refund_of("P-1", 20385))
    expected = RefundAnswer("P-1", OrderStatus.REVERSED, charged.body.billerserial, 20385)
    assert (code(first), first.body) == (Code.OK, expected)
    order = (await orders(engine))["P-1"]
    assert (order.status, order.reversed_at) == ("REVERSED", clock.now())
    assert (await paid_by(engine))[OCT.billno] is None
    again_bills = await call(http, QueryRequest(ZHANG))
    assert isinstance(again_bills.body, QueryAnswer) and len(again_bills.body.bills) == 2

    clock.advance(timedelta(minutes=5))
    before = await books(engine)
    again = await call(http, refund_of("P-1", 20385))
    assert (code(again), again.body) == (Code.OK, expected)
    assert await books(engine) == before  # reversed_at is the first refund's
    # A charge for a reversed order is refused, and the bills are free for a new order.
    assert code(await call(http, charge_of("P-1", OCT, SEP))) is Code.ORDER_REVERSED
    assert code(await call(http, charge_of("P-2", OCT, SEP))) is Code.OK


async def test_refund_before_the_charge_blocks_the_late_charge(
    http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    first = await call(http, refund_of("P-LATE", 12345))
    assert (code(first), first.body) == (Code.OK, RefundAnswer("P-LATE", OrderStatus.NOTFOUND))
    assert (await orders(engine))["P-LATE"].status == "BLOCKED"
    again = await call(http, refund_of("P-LATE", 12345))
    assert (code(again), again.body) == (Code.OK, RefundAnswer("P-LATE", OrderStatus.NOTFOUND))
    late = await call(http, charge_of("P-LATE", OCT))
    assert code(late) is Code.ORDER_REVERSED
    assert (await paid_by(engine))[OCT.billno] is None
    assert (await orders(engine))["P-LATE"].status == "BLOCKED"


async def test_a_refund_of_another_amount_is_refused(
    http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert code(await call(http, charge_of("P-1", OCT))) is Code.OK
    before = await books(engine)
    assert code(await call(http, refund_of("P-1", 1))) is Code.AMOUNT_MISMATCH
    assert await books(engine) == before


# ---------------------------------------------------------------- records


async def test_statement_lines_and_standing_write_offs(
    sim: Simulator, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    day = date(2026, 11, 22)
    clock.set(datetime(2026, 11, 22, 1, 30, 12, tzinfo=UTC))  # 09:30:12 in Shanghai
    a = await call(http, charge_of("P-A", OCT))
    clock.set(datetime(2026, 11, 22, 2, 15, tzinfo=UTC))
    b = await call(http, charge_of("P-B", LI_OCT, account=LI))
    await call(http, refund_of("P-NEVER", 999))  # blocked: no line, ever
    clock.set(datetime(2026, 11, 22, 15, 59, 59, tzinfo=UTC))  # 23:59:59, still the 22nd
    await call(http, refund_of("P-A", 12345))
    clock.set(datetime(2026, 11, 22, 16, 0, 0, tzinfo=UTC))  # 00:00:00 on the 23rd
    c = await call(http, charge_of("P-C", SEP))
    await call(http, refund_of("P-B", 5000))
    serial = {}
    for name, reply in (("P-A", a), ("P-B", b), ("P-C", c)):
        assert isinstance(reply.body, ChargeAnswer)
        serial[name] = reply.body.billerserial

    assert await sim.statement_lines(day) == [
        "H|BJWATER|20261122|3|5000",
        f"D|P-A|{serial['P-A']}|{ZHANG}|12345|WECHAT|20261122093012|SUCCESS",
        f"D|P-B|{serial['P-B']}|{LI}|5000|WECHAT|20261122101500|SUCCESS",
        f"D|P-A|{serial['P-A']}|{ZHANG}|12345|WECHAT|20261122235959|REVERSED",
    ]
    # Same second: ordered by orderno, a write-off before its reversal.
    assert await sim.statement_lines(day + timedelta(days=1)) == [
        "H|BJWATER|20261123|2|3040",
        f"D|P-B|{serial['P-B']}|{LI}|5000|WECHAT|20261123000000|REVERSED",
        f"D|P-C|{serial['P-C']}|{ZHANG}|8040|WECHAT|20261123000000|SUCCESS",
    ]
    assert await sim.statement_lines(day - timedelta(days=1)) == ["H|BJWATER|20261121|0|0"]
    assert await sim.standing_write_offs() == {
        "P-A": False,
        "P-B": False,
        "P-C": True,
        "P-NEVER": False,
    }


async def test_a_write_off_and_its_reversal_in_one_second(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    charged = await call(http, charge_of("P-1", OCT))
    await call(http, refund_of("P-1", 12345))
    assert isinstance(charged.body, ChargeAnswer)
    s = charged.body.billerserial
    assert await sim.statement_lines(date(2026, 11, 22)) == [
        "H|BJWATER|20261122|2|0",
        f"D|P-1|{s}|{ZHANG}|12345|WECHAT|20261122153000|SUCCESS",
        f"D|P-1|{s}|{ZHANG}|12345|WECHAT|20261122153000|REVERSED",
    ]


# ---------------------------------------------------------------- concurrency


async def race(
    http: httpx.AsyncClient, raw_dsn: Any, charges: list[ChargeRequest]
) -> list[Message]:
    """Send ``charges`` at once while a third connection holds the bills' row locks; release
    the locks once every charge waits, so they truly race on separate connections."""
    blocker = await raw_connect(raw_dsn)
    watcher = await raw_connect(raw_dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute(f"SELECT * FROM {SCHEMA}.bills FOR UPDATE")
        tasks = [asyncio.create_task(call(http, c, serial=f"R{n}")) for n, c in enumerate(charges)]
        await until_waiting_on_locks(watcher, len(charges))
        await tx.rollback()
        return list(await asyncio.gather(*tasks))
    finally:
        await blocker.close()
        await watcher.close()


async def test_two_orders_for_one_bill_exactly_one_wins(
    http: httpx.AsyncClient, engine: AsyncEngine, raw_dsn: Any
) -> None:
    replies = await race(http, raw_dsn, [charge_of("P-A", OCT), charge_of("P-B", SEP, OCT)])
    assert sorted(str(code(r)) for r in replies) == [Code.OK, Code.BILL_PAID_BY_OTHER_ORDER]
    winner = next(r for r in replies if code(r) is Code.OK)
    assert isinstance(winner.body, ChargeAnswer)
    written = await orders(engine)
    assert list(written) == [winner.body.orderno]
    assert set((await paid_by(engine)).values()) == {None, winner.body.orderno}


async def test_the_same_order_at_once_is_written_off_once(
    http: httpx.AsyncClient, engine: AsyncEngine, raw_dsn: Any
) -> None:
    replies = await race(http, raw_dsn, [charge_of("P-1", OCT)] * 3)
    assert {code(r) for r in replies} == {Code.OK}
    assert len({r.body for r in replies}) == 1  # one billerserial for all
    assert list(await orders(engine)) == ["P-1"]


async def test_a_refund_racing_its_charge_sees_it_through(
    http: httpx.AsyncClient, engine: AsyncEngine, raw_dsn: Any
) -> None:
    blocker = await raw_connect(raw_dsn)
    watcher = await raw_connect(raw_dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute(f"SELECT * FROM {SCHEMA}.bills FOR UPDATE")
        charging = asyncio.create_task(call(http, charge_of("P-1", OCT)))
        await until_waiting_on_locks(watcher, 1)
        refunding = asyncio.create_task(call(http, refund_of("P-1", 12345)))
        await until_waiting_on_locks(watcher, 2)  # the refund waits for the charge's orderno
        await tx.rollback()
        charged, refunded = await charging, await refunding
    finally:
        await blocker.close()
        await watcher.close()
    assert code(charged) is Code.OK
    assert isinstance(refunded.body, RefundAnswer)
    assert refunded.body.status is OrderStatus.REVERSED
    assert (await orders(engine))["P-1"].status == "REVERSED"
    assert (await paid_by(engine))[OCT.billno] is None


# ---------------------------------------------------------------- hostile and broken input


XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<message><head><version>1.0</version><trancode>charge</trancode><platform>UTILIPAY</platform>
<biller>BJWATER</biller><serial>X1</serial><time>20261122153000</time></head>
<body><account>&xxe;</account><orderno>P-XXE</orderno><amount>12345</amount>
<billnos><billno>B202610-0001</billno></billnos><channel>WECHAT</channel>
<paytime>20261122153000</paytime></body></message>"""


GOOD_CHARGE = render(Head(Trancode.CHARGE, "BJWATER", "C-BAD", AT), charge_of("P-1", OCT))


def _ours(xml: bytes) -> bytes:
    return frame(SignType.HMAC_SHA256, KEY, xml)


def _altered(old: bytes, new: bytes) -> bytes:
    return _ours(GOOD_CHARGE.replace(old, new))


@pytest.mark.parametrize(
    ("data", "expected", "serial"),
    [
        # A forged or tampered message is not read at all: not even its serial.
        pytest.param(
            frame(SignType.HMAC_SHA256, "wrong-key-0123456789", GOOD_CHARGE),
            Code.SIGNATURE_INVALID,
            UNREAD,
            id="forged",
        ),
        pytest.param(
            _ours(GOOD_CHARGE)[:-20] + b"<!-- tampered -->",
            Code.SIGNATURE_INVALID,
            UNREAD,
            id="tampered",
        ),
        pytest.param(b"", Code.MALFORMED, UNREAD, id="empty"),
        pytest.param(b"A" * (MAX_MESSAGE + 1), Code.MALFORMED, UNREAD, id="oversize"),
        pytest.param(_ours(XXE), Code.MALFORMED, UNREAD, id="xxe"),
        pytest.param(_ours(b"<message><head>"), Code.MALFORMED, UNREAD, id="truncated"),
        pytest.param(_ours(b"\xff\xfe not even text"), Code.MALFORMED, UNREAD, id="not-utf8"),
        # Signed but ill-typed: refused, addressed to the request's own serial.
        pytest.param(
            _altered(b"<amount>12345", b"<amount>123.45"), Code.MALFORMED, "C-BAD", id="decimal"
        ),
        pytest.param(
            _altered(b"<orderno>P-1</orderno>", b""), Code.MALFORMED, "C-BAD", id="no-orderno"
        ),
        pytest.param(
            _altered(b"<time>20261122153000", b"<time>yesterday"),
            Code.MALFORMED,
            "C-BAD",
            id="head",
        ),
        pytest.param(_altered(b"BJWATER", b"SHGAS"), Code.MALFORMED, "C-BAD", id="another-biller"),
        pytest.param(
            _ours(render(Head(Trancode.REFUND, "BJWATER", "C-BAD", AT), refund_of("P-1", 12345))),
            Code.MALFORMED,
            "C-BAD",
            id="refund-posted-as-charge",
        ),
    ],
)
async def test_hostile_and_broken_charges_are_refused_and_write_nothing(
    http: httpx.AsyncClient, engine: AsyncEngine, data: bytes, expected: Code, serial: str
) -> None:
    before = await books(engine)
    reply = await post(http, Trancode.CHARGE, data)
    assert (reply.head.code, reply.head.serial, reply.head.trancode) == (
        expected,
        serial,
        Trancode.CHARGE,
    )
    assert await books(engine) == before


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_an_oversize_stream_is_refused_without_reading_it_all(
    http: httpx.AsyncClient, sim: Simulator, declared: bool
) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):  # 1.6 MiB if anyone read it all
            sent += 1
            yield b"B" * 16384

    headers = {"content-length": str(100 * 16384)} if declared else {}
    response = await http.post("/query", content=endless(), headers=headers)
    reply = parse_response(unframe(SignType.HMAC_SHA256, [KEY], response.content), Trancode.QUERY)
    assert reply.head.code is Code.MALFORMED
    assert str(MAX_MESSAGE) in reply.head.msg
    assert sent <= MAX_MESSAGE // 16384 + 1  # read no further than the limit


async def test_key_rotation_and_the_sha1_scheme(
    engine: AsyncEngine, sim: Simulator, clock: FrozenClock
) -> None:
    rotating = SimConfig(key=KEY, previous_key=OLD_KEY, schema=SCHEMA)
    async with client_for(create_app(rotating, engine, clock=clock)) as client:
        old = await call(client, QueryRequest(ZHANG), key=OLD_KEY)  # post() checks the reply's key
        new = await call(client, QueryRequest(ZHANG), key=KEY)
        assert code(old) is code(new) is Code.OK
        other = await call(client, QueryRequest(ZHANG), key="a-third-key-0123456789")
        assert code(other) is Code.SIGNATURE_INVALID
    legacy = SimConfig(key=KEY, sign_type=SignType.SHA1, schema=SCHEMA)
    async with client_for(create_app(legacy, engine, clock=clock)) as client:
        data = signed(QueryRequest(ZHANG), sign_type=SignType.SHA1)
        response = await client.post("/query", content=data)
        reply = parse_response(unframe(SignType.SHA1, [KEY], response.content), Trancode.QUERY)
        assert reply.head.code is Code.OK
        hmac_signed = await client.post("/query", content=signed(QueryRequest(ZHANG)))
        refused = parse_response(unframe(SignType.SHA1, [KEY], hmac_signed.content), Trancode.QUERY)
        assert refused.head.code is Code.SIGNATURE_INVALID


async def test_only_posts_to_the_four_paths_under_the_base(
    engine: AsyncEngine, sim: Simulator, clock: FrozenClock
) -> None:
    async with client_for(create_app(CONFIG, engine, clock=clock, base="/bjwater")) as client:
        assert (
            await client.post("/bjwater/query", content=signed(QueryRequest(ZHANG)))
        ).status_code == 200
        assert (await client.post("/query", content=signed(QueryRequest(ZHANG)))).status_code == 404
        assert (await client.get("/bjwater/query")).status_code == 405


async def test_a_failing_database_is_9999_not_500(
    engine: AsyncEngine, sim: Simulator, http: httpx.AsyncClient
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {SCHEMA}.orders RENAME TO orders_gone"))
    try:
        reply = await call(http, charge_of("P-1", OCT))
        assert code(reply) is Code.BUSY
        assert (await paid_by(engine))[OCT.billno] is None
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"ALTER TABLE {SCHEMA}.orders_gone RENAME TO orders"))


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("timeout=1.5", "between 0 and 1, not '1.5'"),
        ("timeout=-0.1", "between 0 and 1"),
        ("timeout=nan", "between 0 and 1"),
        ("timeout=abc", "not 'abc'"),
        ("timeout", "kind=probability"),
        ("lag=0.1", "unknown fault 'lag'; known: timeout, drop_response, error, slow, duplicate"),
        ("timeout=0.1,timeout=0.2", "'timeout' is given twice"),
        ("timeout=0.6,error=0.5", "add up to 1.1, more than 1"),
    ],
)
def test_a_bad_fault_spec_says_what_is_wrong(spec: str, needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        FaultPlan.parse(spec)


def test_fault_specs_and_seeded_draws() -> None:
    spec = " timeout=0.1, drop_response=0.05,error=0.05 ,slow=0.1,duplicate=0.02,"
    plan = FaultPlan.parse(spec, timeout_delay=3)
    assert plan.probabilities == {
        FaultKind.TIMEOUT: 0.1,
        FaultKind.DROP_RESPONSE: 0.05,
        FaultKind.ERROR: 0.05,
        FaultKind.SLOW: 0.1,
        FaultKind.DUPLICATE: 0.02,
    }
    assert FaultPlan.parse("").probabilities == {}
    first, second = Faults(plan, seed=42), Faults(plan, seed=42)
    draws = [first.draw() for _ in range(10_000)]
    assert draws == [second.draw() for _ in range(10_000)]  # the same seed, the same faults
    counts = first.counts()
    assert counts == {kind: sum(1 for d in draws if d and d.kind is kind) for kind in FaultKind}
    assert 850 < counts[FaultKind.TIMEOUT] < 1150
    assert 120 < counts[FaultKind.DUPLICATE] < 280
    assert 6600 < draws.count(None) < 7000  # 1 - 0.32
    timeouts = [d for d in draws if d and d.kind is FaultKind.TIMEOUT]
    assert {d.delay for d in timeouts} == {3}
    assert 0.4 < sum(d.processed for d in timeouts) / len(timeouts) < 0.6
    assert all(0.5 <= d.delay <= 2 for d in draws if d and d.kind is FaultKind.SLOW)
    # The order of the spec does not change the draws.
    reordered = FaultPlan.parse(
        "duplicate=0.02,slow=0.1,error=0.05,drop_response=0.05,timeout=0.1", timeout_delay=3
    )
    again = Faults(reordered, seed=42)
    assert [again.draw() for _ in range(100)] == draws[:100]


async def test_error_fault_answers_9999_for_every_transaction_and_processes_nothing(
    engine: AsyncEngine, sim: Simulator, clock: FrozenClock
) -> None:
    faults = Faults(FaultPlan.parse("error=1"), seed=1)
    before = await books(engine)
    async with client_for(create_app(CONFIG, engine, clock=clock, faults=faults)) as client:
        for body in (
            QueryRequest(ZHANG),
            charge_of("P-1", OCT),
            ConfirmRequest("P-1"),
            refund_of("P-2", 100),
        ):
            reply = await call(client, body, serial="E1")
            assert (code(reply), reply.head.serial, reply.body) == (Code.BUSY, "E1", None)
    assert await books(engine) == before  # not even the refund's BLOCKED order
    assert faults.counts()[FaultKind.ERROR] == 4


async def test_slow_fault_answers_correctly_but_late(
    engine: AsyncEngine, sim: Simulator, clock: FrozenClock
) -> None:
    faults = Faults(FaultPlan.parse("slow=1", slow_delay=(0.3, 0.3)))
    async with client_for(create_app(CONFIG, engine, clock=clock, faults=faults)) as client:
        started = time.monotonic()
        reply = await call(client, charge_of("P-1", OCT))
        assert time.monotonic() - started >= 0.3
    assert code(reply) is Code.OK
    assert (await orders(engine))["P-1"].status == "WRITTEN_OFF"
    assert faults.counts()[FaultKind.SLOW] == 1


async def test_duplicate_fault_processes_twice_and_answers_the_second(
    engine: AsyncEngine, sim: Simulator, clock: FrozenClock
) -> None:
    faults = Faults(FaultPlan.parse("duplicate=1"))
    async with client_for(create_app(CONFIG, engine, clock=clock, faults=faults)) as client:
        charged = await call(client, charge_of("P-1", OCT))
        assert code(charged) is Code.OK
        assert isinstance(charged.body, ChargeAnswer)
        assert list(await orders(engine)) == ["P-1"]  # written off once
        assert charged.body.billerserial == (await orders(engine))["P-1"].billerserial
        assert (await confirm(client, "P-1")).status is OrderStatus.SUCCESS
        refunded = await call(client, refund_of("P-1", 12345))
        assert isinstance(refunded.body, RefundAnswer)
        assert refunded.body.status is OrderStatus.REVERSED
        blocked = await call(client, refund_of("P-2", 100))
        assert isinstance(blocked.body, RefundAnswer)
        assert blocked.body.status is OrderStatus.NOTFOUND
        assert code(await call(client, QueryRequest(ZHANG))) is Code.OK
    assert faults.counts()[FaultKind.DUPLICATE] == 5


async def test_drop_response_processes_then_closes_the_connection(
    engine: AsyncEngine, sim: Simulator, clock: FrozenClock, db_url: URL
) -> None:
    faults = Faults(FaultPlan.parse("drop_response=1"))
    with ServerThread(create_app(CONFIG, db_url, clock=clock, faults=faults)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
            with pytest.raises(httpx.TransportError):
                await client.post("/charge", content=signed(charge_of("P-1", OCT)))
    # The reply was lost, the write-off was not.
    assert (await orders(engine))["P-1"].status == "WRITTEN_OFF"
    assert (await paid_by(engine))[OCT.billno] == "P-1"
    # In process (httpx's ASGITransport) the client sees the same kind of error.
    async with client_for(create_app(CONFIG, engine, clock=clock, faults=faults)) as client:
        with pytest.raises(ReplyDropped) as dropped:
            await client.post("/refund", content=signed(refund_of("P-1", 12345)))
    assert isinstance(dropped.value, httpx.TransportError)
    assert (await orders(engine))["P-1"].status == "REVERSED"
    assert faults.counts()[FaultKind.DROP_RESPONSE] == 2


def _seed_giving(plan: FaultPlan, wanted: list[Fault | None]) -> int:
    """A seed whose first draws are ``wanted`` (found, not hard-coded: the test says why)."""
    for seed in range(10_000):
        faults = Faults(plan, seed)
        if [faults.draw() for _ in wanted] == wanted:
            return seed
    raise AssertionError(f"no seed draws {wanted}")


async def _until(check: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.05)


async def test_timeout_fault_replies_too_late_and_processes_half_the_time(
    engine: AsyncEngine, sim: Simulator, clock: FrozenClock, db_url: URL
) -> None:
    plan = FaultPlan.parse("timeout=1", timeout_delay=0.5)
    late, lost = Fault(FaultKind.TIMEOUT, 0.5, True), Fault(FaultKind.TIMEOUT, 0.5, False)
    faults = Faults(plan, _seed_giving(plan, [late, lost, lost]))
    with ServerThread(create_app(CONFIG, db_url, clock=clock, faults=faults)) as base_url:
        impatient = httpx.AsyncClient(base_url=base_url, timeout=0.2)
        patient = httpx.AsyncClient(base_url=base_url, timeout=5)
        async with impatient, patient:
            with pytest.raises(httpx.ReadTimeout):
                await impatient.post("/charge", content=signed(charge_of("P-1", OCT)))
            assert "P-1" not in await orders(engine)  # not there yet: a delayed delivery

            async def written_off() -> bool:
                return "P-1" in await orders(engine)

            await _until(written_off)
            with pytest.raises(httpx.ReadTimeout):
                await impatient.post("/charge", content=signed(charge_of("P-2", SEP)))
            # A client that waits long enough gets the late answer: 9999, nothing done.
            started = time.monotonic()
            reply = await post(patient, Trancode.CHARGE, signed(charge_of("P-3", SEP)))
            assert time.monotonic() - started >= 0.5
            assert code(reply) is Code.BUSY
            await asyncio.sleep(0.5)  # well past P-2's delay too
    assert set(await orders(engine)) == {"P-1"}
    assert faults.counts()[FaultKind.TIMEOUT] == 3


async def test_a_charge_delivered_after_its_refund_is_refused(
    engine: AsyncEngine, sim: Simulator, clock: FrozenClock, db_url: URL
) -> None:
    plan = FaultPlan.parse("timeout=0.5", timeout_delay=0.5)
    faults = Faults(plan, _seed_giving(plan, [Fault(FaultKind.TIMEOUT, 0.5, True), None]))
    with ServerThread(create_app(CONFIG, db_url, clock=clock, faults=faults)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=0.2) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/charge", content=signed(charge_of("P-1", OCT)))
            # The hub gives up on the charge and refunds it before it is delivered.
            refunded = await post(client, Trancode.REFUND, signed(refund_of("P-1", 12345)))
            assert isinstance(refunded.body, RefundAnswer)
            assert refunded.body.status is OrderStatus.NOTFOUND
            await asyncio.sleep(0.7)  # the charge arrives and is refused
    assert (await orders(engine))["P-1"].status == "BLOCKED"
    assert (await paid_by(engine))[OCT.billno] is None
    assert await sim.standing_write_offs() == {"P-1": False}


# ---------------------------------------------------------------- the command


def test_the_command_refuses_bad_options_before_touching_anything() -> None:
    app = typer.Typer()
    app.command()(biller_sim)

    def refusal(*args: str) -> str:
        result = CliRunner().invoke(app, ["--key", KEY, *args])
        assert result.exit_code == 2
        return " ".join(result.output.replace("│", " ").split())  # unwrap rich's box

    assert "--faults: probability of 'timeout' must be between 0 and 1, not '2'" in refusal(
        "--faults", "timeout=2"
    )
    assert "--schema: schema name 'Bad-Name' must be" in refusal("--schema", "Bad-Name")


async def test_the_command_prepares_and_seeds_its_schema(
    engine: AsyncEngine, clock: FrozenClock, db_url: URL
) -> None:
    await _drop(engine)
    try:
        seeded = await prepare(db_url, CONFIG, clock, accounts=5, seed=3)
        assert len(seeded) == 5
        assert await prepare(db_url, CONFIG, clock, accounts=5, seed=3) == seeded
        async with engine.connect() as conn:
            count = await conn.scalar(text(f"SELECT count(*) FROM {SCHEMA}.accounts"))
        assert count == 5
    finally:
        await _drop(engine)
