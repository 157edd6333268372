"""Tariffs in PostgreSQL: loading, assignments, the version in force, and the SQL calculator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import START
from tests.tariffs.test_tariffs_calculator import TOU, quantities, usages, versions
from utilipay.audit.tables import audit_log
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.tariffs import store
from utilipay.tariffs.calculator import Usage, accrual_posting, energy_charge, to_fen
from utilipay.tariffs.model import Register, TariffVersion, band_start
from utilipay.tariffs.service import assign_tariff, load_tariffs, quote
from utilipay.tariffs.tables import tariff_blocks, tariff_versions, tariffs

D = Decimal
ELECTRUM = Path(__file__).parents[1] / "data" / "tariffs_electrum_tst004.toml"


def tariff_file(tmp_path: Path, body: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def one_version(code: str, effective: str, price: str, unit: str = "kWh") -> str:
    return f"""
[[tariff]]
code = "{code}"
name = "{code} tariff"
unit = "{unit}"

[[tariff.version]]
effective_from = {effective}
band_period = "month"
blocks = [{{ up_to = 100, price = {price} }}, {{ price = 1 }}]
"""


async def counts(conn: AsyncConnection) -> tuple[int, ...]:
    found = []
    for table in (tariffs, tariff_versions, tariff_blocks, audit_log):
        found.append((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    return tuple(found)


async def test_loading_the_built_ins_twice_changes_nothing(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    first = await load_tariffs(conn, clock, None, "ops")
    assert sorted(first.added) == [
        ("BJ_ELEC_RES", date(2012, 7, 1)),
        ("BJ_ELEC_RES_YEAR", date(2012, 7, 1)),
        ("BJ_WATER_RES", date(2014, 5, 1)),
    ]
    assert await counts(conn) == (3, 3, 9, 3)
    again = await load_tariffs(conn, clock, None, "ops")
    assert (again.added, len(again.unchanged), again.renamed) == ([], 3, [])
    assert await counts(conn) == (3, 3, 9, 3)
    # what was loaded reads back as what the files say
    stored = await store.version_of(conn, "BJ_ELEC_RES", date(2026, 10, 1))
    assert stored is not None and stored.id is not None
    assert energy_charge(stored, Usage(D(246))).fen == 12042


async def test_other_prices_for_a_loaded_version_are_refused_and_nothing_is_kept(
    conn: AsyncConnection, clock: FrozenClock, tmp_path: Path
) -> None:
    await load_tariffs(
        conn, clock, tariff_file(tmp_path, one_version("T1", "2026-01-01", "0.5")), "ops"
    )
    before = await counts(conn)
    changed = one_version("T2", "2026-01-01", "0.6") + one_version("T1", "2026-01-01", "0.5001")
    with pytest.raises(DomainError) as refused:
        await load_tariffs(conn, clock, tariff_file(tmp_path, changed), "ops")
    assert refused.value.code is ErrorCode.IDEMPOTENCY_CONFLICT
    assert (
        "tariff T1 already has a version effective 2026-01-01 with other content "
        "(blocks: stored ≤100.000 at 0.5000, >100.000 at 1.0000, "
        "file ≤100 at 0.5001, >100 at 1)"
    ) in refused.value.detail
    assert "a later effective_from" in refused.value.detail
    assert await counts(conn) == before  # T2 was not kept either
    # a later version is how prices change
    later = one_version("T1", "2027-01-01", "0.5001")
    report = await load_tariffs(conn, clock, tariff_file(tmp_path, later), "ops")
    assert report.added == [("T1", date(2027, 1, 1))]
    on = {
        day: await store.version_of(conn, "T1", day)
        for day in (date(2026, 12, 31), date(2027, 1, 1))
    }
    assert [v.blocks[0].price for v in on.values() if v] == [D("0.5"), D("0.5001")]
    assert await store.version_of(conn, "T1", date(2025, 12, 31)) is None


async def test_a_unit_change_is_refused_and_a_rename_is_recorded(
    conn: AsyncConnection, clock: FrozenClock, tmp_path: Path
) -> None:
    await load_tariffs(
        conn, clock, tariff_file(tmp_path, one_version("T1", "2026-01-01", "0.5")), "ops"
    )
    in_m3 = one_version("T1", "2026-01-01", "0.5", unit="m3")
    with pytest.raises(DomainError, match="tariff T1 is in kWh, the file says m3"):
        await load_tariffs(conn, clock, tariff_file(tmp_path, in_m3), "ops")
    renamed = one_version("T1", "2026-01-01", "0.5").replace("T1 tariff", "new name")
    report = await load_tariffs(conn, clock, tariff_file(tmp_path, renamed), "ops")
    assert (report.renamed, report.added) == (["T1"], [])
    (tariff,) = await store.all_tariffs(conn, "T1")
    assert tariff.name == "new name"


async def test_a_loaded_version_cannot_be_edited(conn: AsyncConnection, clock: FrozenClock) -> None:
    await load_tariffs(conn, clock, None, "ops")
    with pytest.raises(DBAPIError, match="tariff versions are immutable: UPDATE on tariff_blocks"):
        await conn.execute(text("UPDATE tariff_blocks SET price = 0.1"))


async def electricity_biller(conn: AsyncConnection, clock: FrozenClock) -> None:
    await billers_service.add_biller(
        conn, clock, code="BJPOWER", name="国网北京电力", category=Category.ELECTRICITY,
        mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", account_hint="10 digits",
        region="110000", actor="test",
    )  # fmt: skip


async def version_for(
    conn: AsyncConnection, day: str, customer_class: str = "residential"
) -> int | None:
    found: int | None = (
        await conn.execute(
            text("SELECT tariff_version_for(b.id, :c, :d) FROM billers b WHERE code = 'BJPOWER'"),
            {"c": customer_class, "d": date.fromisoformat(day)},
        )
    ).scalar_one()
    return found


async def version_id(conn: AsyncConnection, code: str, day: str) -> int | None:
    found = await store.version_of(conn, code, date.fromisoformat(day))
    return found.id if found else None


async def test_the_version_in_force_follows_assignments_and_versions(
    conn: AsyncConnection, clock: FrozenClock, tmp_path: Path
) -> None:
    await electricity_biller(conn, clock)
    await load_tariffs(conn, clock, None, "ops")
    for since in ("2027-01-01", "2027-03-01"):  # two versions of T1
        await load_tariffs(
            conn, clock, tariff_file(tmp_path, one_version("T1", since, "0.6")), "ops"
        )

    async def assign(code: str, since: str, customer_class: str = "residential") -> str:
        done = await assign_tariff(
            conn, clock, biller="BJPOWER", customer_class=customer_class, tariff_code=code,
            effective_from=date.fromisoformat(since), actor="ops",
        )  # fmt: skip
        return done.outcome

    assert await assign("BJ_ELEC_RES", "2026-01-01") == "added"
    assert await assign("BJ_ELEC_RES", "2026-01-01") == "unchanged"
    assert await assign("BJ_ELEC_RES_YEAR", "2027-01-01") == "added"
    assert await assign("T1", "2027-01-01") == "replaced"  # not in force yet: corrected
    monthly = await version_id(conn, "BJ_ELEC_RES", "2026-06-01")
    assert await version_for(conn, "2025-12-31") is None
    assert await version_for(conn, "2026-01-01") == monthly
    assert await version_for(conn, "2026-12-31") == monthly
    assert await version_for(conn, "2027-02-28") == await version_id(conn, "T1", "2027-01-01")
    assert await version_for(conn, "2027-03-01") == await version_id(conn, "T1", "2027-03-01")
    assert await version_for(conn, "2026-06-01", "commercial") is None
    stored = await store.version_in_force(conn, 1, "residential", date(2026, 6, 1))
    assert stored is not None and stored.id == monthly and stored.code == "BJ_ELEC_RES"
    assert await store.assignments_of(conn, "BJ_ELEC_RES") == [
        ("BJPOWER", "residential", date(2026, 1, 1))
    ]

    with pytest.raises(
        DomainError, match="residential already pays tariff BJ_ELEC_RES from 2026-01-01"
    ):
        await assign("BJ_ELEC_RES_YEAR", "2026-01-01")
    with pytest.raises(DomainError, match="tariff T1 has no version in force on 2026-12-31"):
        await assign("T1", "2026-12-31", "commercial")
    with pytest.raises(
        DomainError, match="tariff BJ_WATER_RES is in m3: it does not fit electricity billers"
    ):
        await assign("BJ_WATER_RES", "2027-01-01")
    with pytest.raises(DomainError, match="tariff NOPE not found"):
        await assign("NOPE", "2027-01-01")
    with pytest.raises(DomainError, match="customer class 'Big Shop' must be"):
        await assign("BJ_ELEC_RES", "2027-01-01", "Big Shop")
    with pytest.raises(DomainError, match="biller NOPOWER not found"):
        await assign_tariff(
            conn, clock, biller="NOPOWER", customer_class="residential", tariff_code="T1",
            effective_from=date(2027, 1, 1), actor="ops",
        )  # fmt: skip


async def test_quote_picks_the_version_in_force(conn: AsyncConnection, clock: FrozenClock) -> None:
    await load_tariffs(conn, clock, ELECTRUM, "ops")
    version, charge = await quote(conn, "ELECTRUM_TST004", date(2026, 10, 1), Usage(D("73.8")))
    assert (version.effective_from, charge.exact_fen, charge.fen) == (
        date(2020, 1, 1),
        D("10000.012"),
        10000,
    )
    with pytest.raises(
        DomainError, match="tariff ELECTRUM_TST004 has no version in force on 2019-12-31"
    ):
        await quote(conn, "ELECTRUM_TST004", date(2019, 12, 31), Usage(D(1)))
    with pytest.raises(DomainError, match="tariff NOPE not found"):
        await quote(conn, "NOPE", date(2026, 1, 1), Usage(D(1)))


async def test_customer_accounts_have_a_class(conn: AsyncConnection) -> None:
    default = (
        await conn.execute(
            text(
                "SELECT column_default FROM information_schema.columns "
                "WHERE table_name = 'customer_accounts' AND column_name = 'customer_class'"
            )
        )
    ).scalar_one()
    assert default == "'residential'::text"


async def insert(engine: AsyncEngine, version: TariffVersion) -> tuple[AsyncConnection, int]:
    """A connection in a transaction (rolled back by the caller) holding ``version``."""
    conn = await engine.connect()
    await conn.begin()
    await conn.execute(
        text("INSERT INTO tariffs VALUES ('TEST', 'test', 'kWh', now()) ON CONFLICT DO NOTHING")
    )
    version_id = await store.insert_version(conn, version, at=START, actor="t")
    assert version_id is not None
    return conn, version_id


@settings(max_examples=80, deadline=None)
@given(data=st.data())
async def test_sql_and_python_agree(engine: AsyncEngine, data: st.DataObject) -> None:
    version = data.draw(versions())
    usage = data.draw(usages(version.is_time_of_use))
    used_before = data.draw(quantities)
    month_exact = data.draw(st.decimals(min_value=0, max_value=10**7, places=5))
    expected = energy_charge(version, usage, used_before).exact_fen
    registers = [usage.register(r) if usage.registers else None for r in Register]
    conn, version_id = await insert(engine, version)
    try:
        row = (
            await conn.execute(
                text(
                    "SELECT c, tariff_to_fen(c) AS fen, tariff_accrual_posting(:m, c) AS posted,"
                    " tariff_band_start(v.band_period, :day) AS band_start"
                    " FROM tariff_versions v,"
                    " tariff_energy_charge(v.id, :before, :total, :peak, :flat, :valley) c"
                    " WHERE v.id = :id"
                ),
                {
                    "id": version_id,
                    "before": used_before,
                    "total": usage.total,
                    "peak": registers[0],
                    "flat": registers[1],
                    "valley": registers[2],
                    "m": month_exact,
                    "day": date(2026, 10, 17),
                },
            )
        ).one()
    finally:
        await conn.rollback()
        await conn.close()
    assert row.c == expected
    assert row.fen == to_fen(expected)
    assert row.posted == accrual_posting(month_exact, expected)
    assert row.band_start == band_start(version.band_period, date(2026, 10, 17))


async def test_time_of_use_without_registers_gives_no_charge_in_sql(engine: AsyncEngine) -> None:
    conn, version_id = await insert(engine, TOU)
    try:
        charges = [
            (
                await conn.execute(
                    text("SELECT tariff_energy_charge(:id, 0, 250, :p, :f, :v)"),
                    {"id": version_id, "p": p, "f": f, "v": v},
                )
            ).scalar_one()
            for p, f, v in ((None, None, None), (D(100), D(100), D(50)))
        ]
    finally:
        await conn.rollback()
        await conn.close()
    assert charges == [None, D("12016")]  # NULL rather than a charge without the registers
