"""The daily statement (对账单, biller-protocol.md §6): byte-exact, and its signed download."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel
from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType, sign_text
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.statements.service import build

KEY = "statement-key-0123456789"
SPEC_EXAMPLE = (
    "H|BJWATER|20261121|3|8000\n"
    "D|P01JDX|W000123|0112345678|12345|WECHAT|20261121093012|SUCCESS\n"
    "D|P01JDY|W000124|0198765432|8000|ALIPAY|20261121101500|SUCCESS\n"
    "D|P01JDX|W000123|0112345678|12345|WECHAT|20261121235959|REVERSED\n"
)


def at(text_: str) -> datetime:
    return datetime.strptime(text_, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)


@pytest.fixture
async def remote_water(engine: AsyncEngine, clock: FrozenClock, world: Any, hub: Any) -> Any:
    """BJWATER is hosted in the shared world; this biller is a remote one with a key."""
    async with engine.begin() as conn:
        biller = await billers_service.add_biller(
            conn, clock, code="RWATER", name="remote water", category=Category.WATER,
            mode=IntegrationMode.REMOTE, account_rule=r"[0-9]{10}",
            remote=RemoteSettings(url="http://127.0.0.1:9", key=KEY,
                                  sign_type=SignType.HMAC_SHA256),
            actor="test",
        )  # fmt: skip
    await hub.directory.reload()
    return biller


async def insert_payment(engine: AsyncEngine, world: Any, biller_id: int, **row: Any) -> None:
    values = {
        "biller_id": biller_id,
        "channel_id": channel(world, row.pop("channel", "wechat")).id,
        "request_hash": b"x",
        "payer": "p",
        "bill_nos": ["B1"],
        "currency": "CNY",
        "created_at": row["finished_at"] or row["reversed_at"],
        **row,
    }
    columns = ", ".join(values)
    async with engine.begin() as conn:
        await conn.execute(
            text(f"INSERT INTO payments ({columns}) VALUES ({', '.join(':' + c for c in values)})"),
            values,
        )


def paid(
    id_: str, serial: str | None, account: str, amount: int, when: str, **more: Any
) -> dict[str, Any]:
    return {
        "id": id_, "order_id": id_, "biller_serial": serial, "account_no": account,
        "amount": amount, "status": "SUCCEEDED", "receipt_no": f"R{id_}",
        "finished_at": at(when), "reversed_at": None, **more,
    }  # fmt: skip


async def test_the_spec_example_byte_for_byte(engine: AsyncEngine, world: Any) -> None:
    water = world["water"]
    await insert_payment(
        engine, world, water.id,
        **paid("P01JDX", "W000123", "0112345678", 12345, "20261121093012",
               reversed_at=at("20261121235959")),
    )  # fmt: skip
    await insert_payment(
        engine, world, water.id, channel="alipay",
        **paid("P01JDY", "W000124", "0198765432", 8000, "20261121101500"),
    )  # fmt: skip
    # neither on the 21st: paid the day before, and one still open
    await insert_payment(
        engine, world, water.id, **paid("P01JDZ", "W9", "0112345678", 1, "20261120235959")
    )
    async with engine.connect() as conn:
        statement = await build(conn, water, date(2026, 11, 21), at("20261122000001"))
    assert statement.render() == SPEC_EXAMPLE
    assert statement.render().encode("utf-8") == SPEC_EXAMPLE.encode("utf-8")


async def test_a_write_off_learned_only_when_reversing_has_both_lines(
    engine: AsyncEngine, world: Any
) -> None:
    water = world["water"]
    await insert_payment(
        engine, world, water.id,
        **paid("P2", "W2", "0112345678", 500, "20261121120000", status="FAILED",
               receipt_no=None, failure_code="REVERSED", finished_at=at("20261121120000"),
               reversed_at=at("20261121120000")),
    )  # fmt: skip
    await insert_payment(  # reversed before it was ever written off: no line at all
        engine, world, water.id,
        **paid("P3", None, "0112345678", 700, "20261121130000", status="FAILED",
               receipt_no=None, failure_code="NOT_WRITTEN_OFF"),
    )  # fmt: skip
    async with engine.connect() as conn:
        statement = await build(conn, water, date(2026, 11, 21), at("20261123000000"))
    assert statement.render() == (
        "H|BJWATER|20261121|2|0\n"
        "D|P2|W2|0112345678|500|WECHAT|20261121120000|SUCCESS\n"
        "D|P2|W2|0112345678|500|WECHAT|20261121120000|REVERSED\n"
    )


async def test_a_day_with_nothing_is_the_header_alone(engine: AsyncEngine, world: Any) -> None:
    async with engine.connect() as conn:
        statement = await build(conn, world["water"], date(2026, 11, 1), at("20261122000000"))
    assert statement.render() == "H|BJWATER|20261101|0|0\n"


def signed(biller: str, day: str, when: datetime, key: str = KEY) -> dict[str, str]:
    x_time = when.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S")
    return {
        "X-Biller": biller,
        "X-Time": x_time,
        "X-Sign": sign_text(SignType.HMAC_SHA256, key, f"{biller}|{day}|{x_time}"),
    }


async def test_the_signed_download(
    http: httpx.AsyncClient, clock: FrozenClock, remote_water: Any
) -> None:
    path = "/biller/v1/statements/RWATER/20261121"
    ok = await http.get(path, headers=signed("RWATER", "20261121", clock.now()))
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "text/plain; charset=utf-8"
    assert ok.text == "H|RWATER|20261121|0|0\n"

    refusals = [
        (signed("RWATER", "20261121", clock.now(), key="wrong-key-0123456"), 401),
        (signed("RWATER", "20261121", clock.now() - timedelta(seconds=301)), 401),
        (signed("BJWATER", "20261121", clock.now()), 401),
        ({}, 401),
    ]
    for headers, status in refusals:
        r = await http.get(path, headers=headers)
        assert (r.status_code, r.json()["code"]) == (status, "UNAUTHENTICATED")
    today = await http.get(
        "/biller/v1/statements/RWATER/20261122", headers=signed("RWATER", "20261122", clock.now())
    )
    assert (today.status_code, today.json()["code"]) == (409, "NOT_READY")
    assert clock.now() < datetime(2026, 11, 23, tzinfo=UTC)
