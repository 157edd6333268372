"""Readings through the admin API and ``utilipay readings``: the same all-or-nothing
imports, errors naming items or lines, exit 1 on a bad file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.conftest import START, AdminHeaders
from tests.helpers import audited_actors
from tests.readings.test_readings_reads import (
    METERS,
    METERS_HEADER,
    READS_HEADER,
    power_biller,
    read,
)
from tests.readings.test_readings_reads import row_counts as counts
from utilipay.access.scopes import Scope
from utilipay.cli import readings as readings_cli
from utilipay.cli.main import app
from utilipay.clock import FrozenClock
from utilipay.config import get_settings
from utilipay.db.engine import libpq_url

DATA = Path(__file__).parents[1] / "data" / "readings"
SHARED = Path(__file__).parents[3] / "shared" / "realdata" / "greenbutton"


@pytest.fixture
async def admin(admin_headers: AdminHeaders) -> dict[str, str]:
    """The headers of an operator's token that reads and writes readings."""
    return await admin_headers(Scope.OPS_READ, Scope.OPS_WRITE, name="ops")


def lines(header: str, *rows: str) -> bytes:
    return "\n".join([header, *rows, ""]).encode()


async def post_file(
    http: httpx.AsyncClient, auth: dict[str, str], data: bytes, kind: str, **params: str
) -> Any:
    headers = {**auth, "Content-Type": kind}
    return await http.post("/admin/v1/readings/files", content=data, headers=headers, params=params)


def item(at: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"biller": "BJPOWER", "meter": "M1", "read_at": f"2026-{at}+08:00", "value": value,
            **extra}  # fmt: skip


async def test_reads_through_the_admin_api(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, admin: dict[str, str]
) -> None:
    await power_biller(engine, clock)
    r = await post_file(http, admin, lines(METERS_HEADER, *METERS), "text/csv", name="meters.csv")
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["counts"]["added"]) == ("meters", 3)

    good = {"reads": [item("11-18T00:00:00", "100.5"), item("11-19T00:00:00", 112),
                      item("11-20T00:00:00", "120", quality="estimated")]}  # fmt: skip
    r = await http.post("/admin/v1/readings", json=good, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"]["added"] == 3
    assert body["warnings"] == [
        {
            "item": 3,
            "code": "estimated",
            "message": "estimated read: its usage is flagged estimated",
        }
    ]
    r = await http.get(
        "/admin/v1/readings/usage",
        params={"biller": "BJPOWER", "account": "0100000001", "from": "2026-11-01",
                "to": "2026-11-30"},
        headers=admin,
    )  # fmt: skip
    assert r.json()["days"] == [
        {"day": "2026-11-18", "register": "total", "quantity": "11.500", "estimated": False},
        {"day": "2026-11-19", "register": "total", "quantity": "8.000", "estimated": True},
    ]
    assert await audited_actors(engine, "readings.import") == ["ops", "ops"]  # meters, reads

    before = await counts(engine)
    bad = {"reads": [item("11-21T00:00:00", "130"), item("11-22T00:00:00", "125"),
                     item("11-21T00:00:00", "1.2345", meter="M3")]}  # fmt: skip
    r = await http.post("/admin/v1/readings", json=bad, headers=admin)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert [(e["item"], e["message"][:40]) for e in r.json()["errors"]] == [
        (2, "value 125 at 2026-11-22T00:00:00+08:00 i"),
        (3, "value 1.2345 has more than 3 decimals"),
    ]
    assert "2 bad item(s), nothing imported" in r.json()["detail"]
    assert await counts(engine) == before

    floats = {"reads": [item("11-21T00:00:00", 130.5)]}
    assert (await http.post("/admin/v1/readings", json=floats, headers=admin)).status_code == 400
    assert (await http.post("/admin/v1/readings", json=good)).status_code == 401
    r = await post_file(http, admin, b"x", "application/pdf")
    assert r.status_code == 415


async def test_green_button_through_the_admin_api(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, admin: dict[str, str]
) -> None:
    await power_biller(engine, clock)
    meter = "BJPOWER,0100000009,GB,GB1,electricity,kWh,total,8,1,2012-01-01T00:00:00Z,"
    await post_file(http, admin, lines(METERS_HEADER, meter), "text/csv")
    hourly = (DATA / "TestGBDataHourlyNineDaysBinnedDaily.xml").read_bytes()
    r = await post_file(http, admin, hourly, "application/xml", meter="GB1", name="hourly.xml")
    assert r.status_code == 200, r.text
    assert (r.json()["counts"]["added"], r.json()["counts"]["days"]) == (216, 8)
    r = await post_file(http, admin, hourly, "application/xml")
    assert r.status_code == 400 and "say which meter" in r.json()["detail"]
    year = (DATA / "TestGBDataOneYearDailyBinnedMonthly.xml").read_bytes()
    assert (await post_file(http, admin, year, "application/xml", meter="GB1")).status_code == 413


def test_the_samples_are_the_shared_real_files() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared/realdata is not beside this checkout")
    for shared in SHARED.glob("*.xml"):
        assert (DATA / shared.name).read_bytes() == shared.read_bytes()


@pytest.fixture
def cli(db_url: URL, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("UTILIPAY_DATABASE_URL", libpq_url(db_url))
    monkeypatch.setenv("UTILIPAY_ACTOR", "ops-alice")
    monkeypatch.setenv("COLUMNS", "200")  # no wrapping of long messages
    monkeypatch.setattr(readings_cli, "clock", FrozenClock(START))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str) -> Any:
    return cli.invoke(app, list(args), catch_exceptions=False)


def test_readings_import_and_usage_commands(cli: CliRunner, tmp_path: Path) -> None:
    r = invoke(
        cli,
        "billers", "add", "BJPOWER", "--name", "国网北京电力", "--category", "electricity",
        "--mode", "hosted", "--account-rule", "[0-9]{10}",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    meters = tmp_path / "meters.csv"
    meters.write_bytes(lines(METERS_HEADER, *METERS))
    r = invoke(cli, "readings", "import", str(meters))
    assert r.exit_code == 0, r.output
    assert "meters imported" in r.stdout and "3 added" in r.stdout

    good = tmp_path / "reads.csv"
    good.write_bytes(
        lines(
            READS_HEADER,
            read("11-18T00:00:00", "100"),
            read("11-19T00:00:00", "110.25"),
            read("11-20T00:00:00", "118", q="estimated"),
        )
    )
    r = invoke(cli, "readings", "import", str(good), "--biller", "BJPOWER")
    assert r.exit_code == 0, r.output
    assert "3 added" in r.stdout
    assert "warning line 4: estimated read" in r.stdout

    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        lines(READS_HEADER, read("11-21T00:00:00", "117"), read("11-21T06:00:00", "[red]x"))
    )
    r = invoke(cli, "readings", "import", str(bad))
    assert r.exit_code == 1
    assert "bad.csv: 2 bad line(s), nothing imported" in r.output
    assert "line 2: value 117 at 2026-11-21T00:00:00+08:00 is lower than 118" in r.output
    assert "line 3: value '[red]x' is not a decimal number" in r.output  # not markup
    r = invoke(cli, "readings", "import", str(bad), "--json")
    assert r.exit_code == 1
    assert [e["line"] for e in json.loads(r.stdout)["errors"]] == [2, 3]

    r = invoke(cli, "readings", "import", str(good), "--json")
    report = json.loads(r.stdout)
    assert (report["ok"], report["counts"]["added"], report["counts"]["unchanged"]) == (True, 0, 3)

    r = invoke(cli, "readings", "usage", "BJPOWER", "0100000001", "--from", "2026-11-18")
    assert r.exit_code == 0, r.output
    assert "total 18.000" in r.stdout and "3 days not complete yet" in r.stdout
    r = invoke(cli, "readings", "usage", "BJPOWER", "0100000001", "--json")
    assert json.loads(r.stdout)["totals"] == {"total": "18.000"}

    r = invoke(cli, "readings", "import", str(tmp_path / "missing.csv"))
    assert r.exit_code == 1 and "cannot read" in r.output


def test_green_button_by_command(cli: CliRunner, tmp_path: Path) -> None:
    invoke(
        cli,
        "billers", "add", "BJPOWER", "--name", "国网北京电力", "--category", "electricity",
        "--mode", "hosted", "--account-rule", "[0-9]{10}",
    )  # fmt: skip
    meters = tmp_path / "meters.csv"
    meters.write_bytes(
        lines(METERS_HEADER, "BJPOWER,0100000009,GB,GB1,electricity,kWh,total,8,1,2012-01-01Z,")
    )
    r = invoke(cli, "readings", "import", str(meters))
    assert r.exit_code == 1 and "installed_at '2012-01-01Z' is not an RFC 3339" in r.output
    meters.write_bytes(meters.read_bytes().replace(b"2012-01-01Z", b"2012-01-01T00:00:00Z"))
    assert invoke(cli, "readings", "import", str(meters)).exit_code == 0
    year = DATA / "TestGBDataOneYearDailyBinnedMonthly.xml"
    r = invoke(cli, "readings", "import", str(year), "--meter", "GB1", "--biller", "BJPOWER")
    assert r.exit_code == 0, r.output
    assert "444 added" in r.stdout and "443 days" in r.stdout
