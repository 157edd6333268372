"""Reconciling a business day: every record classified, the cut-off carried, sources named.

Statement lines go straight into ``statement_lines`` (contract 1): the parsers
are tested on their own files; here it is what the matching makes of the lines.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import channel, water
from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.schemas import Biller, Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
from utilipay.clock import SHANGHAI, FrozenClock, business_date
from utilipay.errors import DomainError
from utilipay.ids import new_id
from utilipay.recon import service
from utilipay.recon.service import RunReport

D = date(2026, 11, 22)
_files = itertools.count(1)


def at(day: date, clock_time: str) -> datetime:
    """An instant given as a Shanghai wall-clock time on ``day``."""
    return datetime.fromisoformat(f"{day}T{clock_time}").replace(tzinfo=SHANGHAI).astimezone(UTC)


async def payment(
    conn: AsyncConnection,
    biller_id: int,
    channel_id: int,
    order_id: str,
    amount: int,
    status: str = "SUCCEEDED",
    finished: datetime | None = None,
    *,
    payment_id: str | None = None,
    bill_nos: Sequence[str] = (),
    account: str = "0112345678",
) -> str:
    """A hub payment as the write-off paths leave it (the ledger is not the point here)."""
    pid = payment_id or new_id("P")
    created = (finished or at(D, "12:00:00")) - timedelta(seconds=1)
    await conn.execute(
        text(
            """
            WITH claimed AS (INSERT INTO payment_orders VALUES (:c, :o, :b, :id))
            INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer,
                                  account_no, amount, bill_nos, status, failure_code, receipt_no,
                                  created_at, finished_at, resolution, next_check_at, resolve_by)
            VALUES (:b, :id, :c, :o, '\\x00', 'payer', :account, :amount, :bills, :status,
                    CASE WHEN :status = 'FAILED' THEN 'BILLER_FAILED' END,
                    CASE WHEN :status = 'SUCCEEDED' THEN 'R' || :id END, :created, :finished,
                    CASE WHEN :status = 'PROCESSING' THEN 'CONFIRMING' END,
                    CASE WHEN :status = 'PROCESSING' THEN CAST(:far AS timestamptz) END,
                    CASE WHEN :status = 'PROCESSING' THEN CAST(:far AS timestamptz) END)
            """
        ),
        {"b": biller_id, "id": pid, "c": channel_id, "o": order_id, "amount": amount,
         "bills": list(bill_nos), "status": status, "created": created,
         "finished": None if status == "PROCESSING" else finished, "account": account,
         "far": created + timedelta(days=30)},
    )  # fmt: skip
    return pid


Line = tuple[Any, ...]  # (order_id, amount, status, occurred_at[, channel_code])


async def statement(
    conn: AsyncConnection, party: str, code: str, day: date, lines: Sequence[Line]
) -> int:
    """An imported statement, lines as a parser leaves them (contract 1)."""
    n = next(_files)
    values = {
        "kind": "wechat_trade" if party == "channel" else "biller_statement",
        "party": party, "code": code, "day": day, "file": f"{code}_{day}_{n}.csv",
        "sha": hashlib.sha256(f"{n}".encode()).hexdigest(), "count": len(lines),
        "total": sum(line[1] for line in lines), "now": datetime.now(UTC),
    }  # fmt: skip
    import_id = (
        await conn.execute(
            text(
                """
                INSERT INTO statement_imports (kind, party, party_code, business_date, file_name,
                    sha256, line_count, total_amount, summary, actor, imported_at)
                VALUES (:kind, :party, :code, :day, :file, :sha, :count, :total, '{}', 'test',
                        :now)
                RETURNING id
                """
            ),
            values,
        )
    ).scalar_one()
    for no, line in enumerate(lines, 1):
        order_id, amount, status, when, *rest = line
        await conn.execute(
            text(
                """
                INSERT INTO statement_lines (import_id, line_no, order_id, party_ref, amount,
                    currency, status, channel_code, occurred_at, business_date)
                VALUES (:i, :no, :o, :ref, :amount, 'CNY', :status, :channel, :at, :day)
                """
            ),
            {"i": import_id, "no": no, "o": order_id, "ref": f"REF{no}", "amount": amount,
             "status": status, "channel": rest[0] if rest else None, "at": when,
             "day": business_date(when)},
        )  # fmt: skip
    return int(import_id)


async def run(engine: AsyncEngine, clock: FrozenClock, day: date = D, **scope: Any) -> RunReport:
    async with engine.begin() as conn:
        return await service.run_day(conn, clock, day, actor="ops", **scope)


def by_order(report: RunReport) -> dict[str, tuple[str, str | None]]:
    return {b["order_id"] or b["payment_id"]: (b["class"], b["action"]) for b in report.breaks}


async def remote_biller(
    engine: AsyncEngine, clock: FrozenClock, url: str = "http://127.0.0.1:9"
) -> Biller:
    async with engine.begin() as conn:
        return await billers_service.add_biller(
            conn, clock, code="SHPOWER", name="上海电力", category=Category.ELECTRICITY,
            mode=IntegrationMode.REMOTE, account_rule=r"[0-9]{10}",
            remote=RemoteSettings(url=url, key="utility-shared-key-0123456789",
                                  sign_type=SignType.HMAC_SHA256), actor="test",
        )  # fmt: skip


async def breaks_of_each_kind(conn: AsyncConnection, biller_id: int, wechat_id: int) -> None:
    """The hub's side of a hosted biller's day at WECHAT with a break of each kind: matched,
    paid at the channel only after failing, short, a wrong amount, paid twice, paid back
    (``BREAK_LINES`` are the channel's side)."""
    for order, amount, status, clock_time in (
        ("W-OK", 12345, "SUCCEEDED", "10:00:00"), ("W-FAILED", 500, "FAILED", "10:01:00"),
        ("W-SHORT", 700, "SUCCEEDED", "11:00:00"), ("W-AMOUNT", 800, "SUCCEEDED", "12:00:00"),
        ("W-DUP", 900, "SUCCEEDED", "13:00:00"), ("W-BACK", 300, "FAILED", "14:00:00"),
    ):  # fmt: skip
        await payment(conn, biller_id, wechat_id, order, amount, status, at(D, clock_time))


BREAK_LINES = [
    ("W-OK", 12345, "PAID", at(D, "10:00:01")),
    ("W-FAILED", 500, "PAID", at(D, "10:01:00")),
    ("W-LONG", 600, "PAID", at(D, "10:30:00")),
    ("W-AMOUNT", 801, "PAID", at(D, "12:00:00")),
    ("W-DUP", 900, "PAID", at(D, "13:00:00")),
    ("W-DUP", 900, "PAID", at(D, "13:00:05")),
    ("W-BACK", 300, "PAID", at(D, "14:00:00")),
    ("W-BACK", 300, "REFUNDED", at(D, "14:05:00")),
]


async def test_every_record_of_a_hosted_billers_day_is_classified(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    b, wx, ali = water(world).id, channel(world, "wechat").id, channel(world, "alipay").id
    async with engine.begin() as conn:
        await breaks_of_each_kind(conn, b, wx)
        await payment(conn, b, wx, "W-NOBODY", 50, "FAILED", at(D, "14:30:00"))
        await payment(conn, b, wx, "W-OLD", 400, finished=at(D - timedelta(days=3), "09:00"))
        await payment(conn, b, ali, "A-1", 100, finished=at(D, "09:00:00"))  # no ALIPAY statement
        await statement(conn, "channel", "WECHAT", D, [
            *BREAK_LINES, ("W-OLD", 400, "PAID", at(D, "09:00:00")),
        ])  # fmt: skip
    report = await run(engine, clock)
    assert report.run["counts"] == {
        "MATCHED": 3, "CHANNEL_ONLY": 2, "HUB_ONLY": 1, "AMOUNT_MISMATCH": 1,
        "STATUS_MISMATCH": 0, "DUPLICATE": 1, "CARRIED": 0,
    }  # fmt: skip
    assert by_order(report) == {
        "W-FAILED": ("CHANNEL_ONLY", "REFUND"),
        "W-LONG": ("CHANNEL_ONLY", "EXCEPTION"),
        "W-SHORT": ("HUB_ONLY", "EXCEPTION"),
        "W-AMOUNT": ("AMOUNT_MISMATCH", "EXCEPTION"),
        "W-DUP": ("DUPLICATE", "EXCEPTION"),
    }
    assert report.run["records"] == 8
    assert report.run["sources"]["missing"] == [
        {"party": "channel", "code": "ALIPAY", "payments": 1}
    ]
    async with engine.connect() as conn:
        stored: dict[str, str] = dict(
            (await conn.execute(
                text("SELECT order_id, class FROM recon_items WHERE run_id = :r"),
                {"r": report.id},
            )).all()
        )  # fmt: skip
    # the breaks are kept, the matched records counted (W-OK, W-BACK, W-OLD); the failed
    # payment nobody took money for is no record at all
    assert set(stored) == {"W-FAILED", "W-LONG", "W-SHORT", "W-AMOUNT", "W-DUP"}
    assert report.run["counts"]["MATCHED"] == 3
    amount = next(b for b in report.breaks if b["order_id"] == "W-AMOUNT")
    assert (amount["hub_amount"], amount["channel_amount"]) == (800, 801)
    fixes = {c["order_id"]: c for c in report.corrections}
    assert set(fixes) == set(by_order(report))
    assert fixes["W-FAILED"]["evidence"]["channel"]["amount"] == 500
    assert fixes["W-FAILED"]["evidence"]["hub"]["status"] == "FAILED"
    assert fixes["W-FAILED"]["idempotency_key"] == f"{report.id}:WECHAT:W-FAILED:REFUND"
    assert all(c["status"] == "PROPOSED" for c in report.corrections)


async def test_a_payment_at_midnight_is_carried_and_matched_the_next_day(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    b, wx = water(world).id, channel(world, "wechat").id
    nxt = D + timedelta(days=1)
    async with engine.begin() as conn:
        await payment(conn, b, wx, "W-LATE", 1000, finished=at(D, "23:59:50"))
        await payment(conn, b, wx, "W-NOON", 2000, finished=at(D, "12:00:00"))
        await payment(conn, b, wx, "W-EARLY", 3000, finished=at(nxt, "00:00:30"))
        await statement(conn, "channel", "WECHAT", D, [("W-NOON", 2000, "PAID", at(D, "12:00"))])
        await statement(conn, "channel", "WECHAT", nxt, [
            ("W-LATE", 1000, "PAID", at(nxt, "00:00:10")),
            ("W-EARLY", 3000, "PAID", at(nxt, "00:00:31")),
        ])  # fmt: skip
    first = await run(engine, clock)
    assert first.run["counts"]["CARRIED"] == 1 and first.run["counts"]["MATCHED"] == 1
    assert by_order(first) == {"W-LATE": ("CARRIED", None)}
    assert first.breaks[0]["carried_to"] == nxt
    assert first.corrections == []
    second = await run(engine, clock, nxt)
    assert second.run["counts"]["MATCHED"] == 2 and second.breaks == []
    # outside the window it is not a cut-off: a break
    narrow = await run(engine, clock, cutoff=timedelta(seconds=5))
    assert by_order(narrow) == {"W-LATE": ("HUB_ONLY", "EXCEPTION")}


async def test_remote_billers_are_matched_three_ways(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    wx = channel(world, "wechat").id
    power = (await remote_biller(engine, clock)).id
    async with engine.begin() as conn:
        ok = await payment(conn, power, wx, "R-OK", 100, finished=at(D, "08:00"))
        gone = await payment(conn, power, wx, "R-MISSING", 200, finished=at(D, "08:10"))
        rev = await payment(conn, power, wx, "R-REVERSED", 300, finished=at(D, "08:20"))
        failed = await payment(conn, power, wx, "R-FAILED", 400, "FAILED", at(D, "08:30"))
        await payment(conn, power, wx, "R-PENDING", 500, "PROCESSING")
        await statement(conn, "channel", "WECHAT", D, [
            ("R-OK", 100, "PAID", at(D, "08:00")),
            ("R-MISSING", 200, "PAID", at(D, "08:10")),
            ("R-REVERSED", 300, "PAID", at(D, "08:20")),
            ("R-PENDING", 500, "PAID", at(D, "08:40")),
        ])  # fmt: skip
        await statement(conn, "biller", "SHPOWER", D, [
            (ok, 100, "PAID", at(D, "08:00:01"), "WECHAT"),
            (rev, 300, "PAID", at(D, "08:20:01"), "WECHAT"),
            (rev, 300, "REVERSED", at(D, "09:00"), "WECHAT"),
            (failed, 400, "PAID", at(D, "08:30:01"), "WECHAT"),
            ("P-NEVER-SEEN", 900, "PAID", at(D, "08:50"), "WECHAT"),
        ])  # fmt: skip
    report = await run(engine, clock)
    assert report.run["sources"]["three_way"] == ["SHPOWER"]
    assert by_order(report) == {
        "R-MISSING": ("STATUS_MISMATCH", "RECONFIRM"),
        "R-REVERSED": ("STATUS_MISMATCH", "EXCEPTION"),
        "R-FAILED": ("STATUS_MISMATCH", "REVERSE"),
        "R-PENDING": ("CHANNEL_ONLY", "RECONFIRM"),
        "P-NEVER-SEEN": ("STATUS_MISMATCH", "REVERSE"),
    }
    assert report.run["counts"]["MATCHED"] == 1
    assert gone != ok


async def test_a_run_of_one_channel_or_one_biller_and_its_refusals(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    b, wx, ali = water(world).id, channel(world, "wechat").id, channel(world, "alipay").id
    power = (await remote_biller(engine, clock)).id
    async with engine.begin() as conn:
        await payment(conn, b, wx, "W-1", 100, finished=at(D, "10:00"))
        await payment(conn, power, wx, "W-2", 200, finished=at(D, "10:00"))
        await payment(conn, b, ali, "A-1", 300, finished=at(D, "10:00"))
        await statement(conn, "channel", "WECHAT", D, [
            ("W-1", 100, "PAID", at(D, "10:00")), ("W-2", 200, "PAID", at(D, "10:00")),
            ("W-UNKNOWN", 5, "PAID", at(D, "10:00")),
        ])  # fmt: skip
        await statement(conn, "channel", "ALIPAY", D, [("A-1", 300, "PAID", at(D, "10:00"))])
    everything = await run(engine, clock)
    # SHPOWER sent no statement: matched two ways, and the run says so
    assert everything.run["records"] == 4
    assert everything.run["sources"]["missing"] == [
        {"party": "biller", "code": "SHPOWER", "payments": 1}
    ]
    wechat_only = await run(engine, clock, channel="WECHAT")
    assert wechat_only.run["records"] == 3 and wechat_only.run["channel_code"] == "WECHAT"
    water_only = await run(engine, clock, biller="BJWATER")
    # a channel order the hub never saw belongs to no biller: only a run of all billers has it
    assert water_only.run["records"] == 2 and by_order(water_only) == {}
    with pytest.raises(DomainError) as refused:
        await run(engine, clock, D + timedelta(days=1))
    assert refused.value.code == "NOT_READY"
    with pytest.raises(DomainError) as refused:
        await run(engine, clock, channel="NOPE")
    assert refused.value.code == "NOT_FOUND"
    with pytest.raises(DomainError) as refused:
        await run(engine, clock, cutoff=timedelta(hours=3))
    assert refused.value.code == "MALFORMED_REQUEST"
    async with engine.connect() as conn:
        runs = (await conn.execute(text("SELECT count(*) FROM recon_runs"))).scalar_one()
    assert runs == 3  # the refusals wrote nothing
    async with engine.connect() as conn:
        assert await service.latest_run(conn, D) == water_only.id
