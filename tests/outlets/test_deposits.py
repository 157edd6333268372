"""Float deposits: recorded by an operator with the bank's reference, or matched from an
imported bank statement (MT940, camt.053) by the outlet's deposit reference; one
transaction writes the deposit, the float row and the FLOAT_DEPOSIT entry; a bank
reference is credited once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.outlets.helpers import agent_with_shop
from tests.outlets.statements import Credit, camt053, mt940
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError
from utilipay.ledger.check import run_checks
from utilipay.outlets import deposits, repository, service
from utilipay.outlets.schemas import OutletKind
from utilipay.recon.statements import import_statement

DATA = Path(__file__).parents[1] / "data" / "recon"
COUNTED = ("float_deposits", "journal_entries", "postings", "audit_log")


async def _counts(conn: AsyncConnection) -> list[int]:
    return [int(await conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in COUNTED]


async def _balance(conn: AsyncConnection) -> tuple[int, int]:
    """The float row's balance and the float account's book balance (credit positive)."""
    row = (await conn.execute(text(
        "SELECT f.balance, -(SELECT coalesce(sum(p.amount), 0) FROM postings p"
        "  WHERE p.account_id = o.float_account)"
        " FROM outlet_floats f JOIN outlets o ON o.id = f.outlet_id"
        " WHERE o.code = 'SHOP-0001'"))).one()  # fmt: skip
    return int(row[0]), int(row[1])


async def test_an_operators_deposit_moves_bank_to_float_in_the_hubs_book(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    await agent_with_shop(conn, clock)
    made = await deposits.record_deposit(
        conn, clock, channel="AGENT1", outlet="SHOP-0001", amount=200_000,
        bank_reference="ICBC20261122000417", actor="ops-li", reason="counter slip",
    )  # fmt: skip
    assert (made.amount, made.source, made.recorded_by) == (200_000, "OPERATOR", "ops-li")
    assert await _balance(conn) == (200_000, 200_000)
    entry = (await conn.execute(text(
        "SELECT e.biller_id, e.kind, array_agg(a.kind || ' ' || p.amount ORDER BY p.line_no)"
        " FROM journal_entries e JOIN postings p ON p.entry_id = e.id"
        " JOIN ledger_accounts a ON a.id = p.account_id GROUP BY e.biller_id, e.id"
    ))).one()  # fmt: skip
    assert tuple(entry) == (0, "FLOAT_DEPOSIT", ["HUB_BANK 200000", "OUTLET_FLOAT -200000"])
    audited = (await conn.execute(text(
        "SELECT actor, object_id, reason, details FROM audit_log"
        " WHERE action = 'float.deposit'"))).one()  # fmt: skip
    assert audited[:3] == ("ops-li", "AGENT1.SHOP-0001", "counter slip")
    assert audited.details["bank_reference"] == "ICBC20261122000417"
    assert all(result.passed for result in await run_checks(conn)), "utilipay check"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bank_reference": "ICBC20261122000417"}, "was recorded already (OPERATOR, by ops-li)"),
        ({"amount": 0}, "deposit amount 0: give 1 to"),
        ({"amount": -5}, "deposit amount -5"),
        ({"bank_reference": " "}, "the bank reference must be"),
        ({"outlet": "SHOP-9"}, "no outlet SHOP-9 of channel AGENT1"),
    ],
)
async def test_a_refused_deposit_writes_nothing(
    conn: AsyncConnection, clock: FrozenClock, options: dict[str, object], message: str
) -> None:
    await agent_with_shop(conn, clock)
    await deposits.record_deposit(conn, clock, channel="AGENT1", outlet="SHOP-0001",
                                  amount=200_000, bank_reference="ICBC20261122000417",
                                  actor="ops-li")  # fmt: skip
    before = (await _counts(conn), await _balance(conn))
    values: dict[str, object] = {"channel": "AGENT1", "outlet": "SHOP-0001", "amount": 1000,
                                 "bank_reference": "ICBC-OTHER"}  # fmt: skip
    with pytest.raises(DomainError, match=re.escape(message)):
        await deposits.record_deposit(conn, clock, **{**values, **options}, actor="ops-wang")  # type: ignore[arg-type]
    assert (await _counts(conn), await _balance(conn)) == before


async def test_a_deposit_ends_the_low_float_episode_only_at_the_threshold(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    shop = await agent_with_shop(conn, clock)  # threshold 500.00 yuan
    await conn.execute(text("UPDATE outlets SET low_since = :at"), {"at": clock.now()})
    await deposits.record_deposit(conn, clock, channel="AGENT1", outlet="SHOP-0001",
                                  amount=49_999, bank_reference="B1", actor="ops-li")  # fmt: skip
    assert (await repository.outlet_by_id(conn, shop.id)).low_since == clock.now()
    await deposits.record_deposit(conn, clock, channel="AGENT1", outlet="SHOP-0001",
                                  amount=1, bank_reference="B2", actor="ops-li")  # fmt: skip
    back = await repository.outlet_by_id(conn, shop.id)
    assert (back.low_since, back.low, back.balance) == (None, False, 50_000)


async def _import(
    engine: AsyncEngine, clock: FrozenClock, data: bytes, name: str, account: str | None = None
) -> int:
    async with engine.begin() as conn:
        result = await import_statement(conn, clock, data, file_name=name, actor="ops-alice",
                                        party_code=account)  # fmt: skip
    return result.float_deposits


async def _deposits(engine: AsyncEngine) -> list[tuple[str, int, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT o.code, d.amount, d.bank_reference, d.source FROM float_deposits d"
            " JOIN outlets o ON o.id = d.outlet_id ORDER BY d.id"))  # fmt: skip
        return [(r[0], r[1], r[2], r[3]) for r in rows]


@pytest.fixture
async def two_shops(engine: AsyncEngine, clock: FrozenClock) -> None:
    async with engine.begin() as conn:
        await agent_with_shop(conn, clock)
        await service.add_outlet(conn, clock, channel="AGENT1", code="SHOP-00011",
                                 name="北村小卖部", kind=OutletKind.SHOP, region="泉州市",
                                 low_threshold=0, actor="ops-li")  # fmt: skip


CREDITS = [
    Credit("BK0001", 300_000, "FLOAT-AGENT1-SHOP-0001 预存款 陈大海"),
    # wrapped by the bank at 65 characters, in the middle of the reference
    Credit("BK0002", 150_000, "PAYMENT FROM LIN XIAO FOR THE SHOP FLOAT, REF FLOAT-AGENT1-SH\n"
                              "OP-00011 THANK YOU"),
    Credit("BK0003", 99_00, "float-agent1-shop-0001."),  # written in lower case, with a stop
    Credit("BK0004", 5_000, "WATER BILL 0112345678"),  # no reference: not a deposit
    Credit("BK0005", 7_000, "FLOAT-AGENT1-SHOP-0001 AND FLOAT-AGENT1-SHOP-00011"),  # which?
    Credit("BK0006", 8_000, "FLOAT-AGENT1-SHOP-0002"),  # no such outlet
]  # fmt: skip


@pytest.mark.usefixtures("two_shops")
async def test_an_mt940_statement_credits_the_floats_it_names_once(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    assert await _import(engine, clock, mt940(CREDITS), "icbc-20261122.sta") == 3
    assert await _deposits(engine) == [
        ("SHOP-0001", 300_000, "BK0001", "STATEMENT"),
        ("SHOP-00011", 150_000, "BK0002", "STATEMENT"),
        ("SHOP-0001", 9_900, "BK0003", "STATEMENT"),
    ]
    # the same transfers in another file (the camt.053 of the same day): credited already
    assert await _import(engine, clock, camt053(CREDITS), "icbc-20261122.xml") == 0
    async with engine.begin() as conn:
        again = await deposits.match_statement_deposits(conn, clock, actor="ops-alice")
        assert (again.deposits, again.already) == ([], 6)
        mt940_line, camt_entry = again.ambiguous  # the :61: line; where <Ntry> starts
        assert mt940_line == "statement #1 line 14: 2 outlets' references"
        assert re.fullmatch(r"statement #2 line \d+: 2 outlets' references", camt_entry)
        assert await _balance(conn) == (309_900, 309_900)
        assert all(result.passed for result in await run_checks(conn)), "utilipay check"


@pytest.mark.usefixtures("two_shops")
async def test_a_camt053_line_an_operator_recorded_first_is_not_credited_again(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    async with engine.begin() as conn:
        await deposits.record_deposit(conn, clock, channel="AGENT1", outlet="SHOP-0001",
                                      amount=300_000, bank_reference="BK0001",
                                      actor="ops-li")  # fmt: skip
    assert await _import(engine, clock, camt053(CREDITS[:3]), "icbc.xml") == 2
    assert [d[2:] for d in await _deposits(engine)] == [
        ("BK0001", "OPERATOR"), ("BK0002", "STATEMENT"), ("BK0003", "STATEMENT")]  # fmt: skip
    async with engine.connect() as conn:
        reasons = await conn.scalar(text(
            "SELECT string_agg(reason, '; ' ORDER BY id) FROM audit_log"
            " WHERE action = 'float.deposit'"))  # fmt: skip
    assert reasons == "; matched on statement #1 line 22; matched on statement #1 line 35"


async def test_no_outlet_no_matching_and_real_statements_keep_their_references(
    engine: AsyncEngine, clock: FrozenClock, conn: AsyncConnection
) -> None:
    """A real SEPA MT940 (betterplace's sample) keeps the bank's reference after // and the
    purpose; with no outlet, nothing is a deposit."""
    assert await _import(engine, clock, (DATA / "betterplace_sepa_snippet.sta").read_bytes(),
                         "betterplace.sta", "50880050/0194787400888") == 0  # fmt: skip
    first = (await conn.execute(text(
        "SELECT bank_ref, remittance FROM statement_lines ORDER BY line_no LIMIT 1"
    ))).one()  # fmt: skip
    assert tuple(first) == ("0724710333343453", "Verw CTSc-01 BC-PPP TFNr 22 004")
    report = await deposits.match_statement_deposits(conn, clock, actor="ops-alice")
    assert report.as_json()["count"] == 0
