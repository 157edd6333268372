"""``utilipay reports NAME`` and ``GET /admin/v1/reports/{name}``: the same report as a
table, JSON, CSV and XLSX; bad input refused with a clear message and nothing else."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke  # noqa: F401 (cli: the fixture)
from tests.collection.sample import collection_report
from tests.collection.test_reports import DAY, pay
from tests.conftest import AdminHeaders
from tests.helpers import HEADER, bill_line, import_bills
from utilipay.access.scopes import Scope as TokenScope
from utilipay.cli import reports as cli_reports
from utilipay.clock import FrozenClock, SystemClock, business_date
from utilipay_tools.client import ChannelClient

REPORTS = "/admin/v1/reports"


def _hub_with_bills(runner: CliRunner, tmp_path: Path) -> None:
    assert invoke(runner, "channels", "add", "WECHAT", "--secret", "c" * 28).exit_code == 0
    r = invoke(
        runner,
        "billers", "add", "BJWATER",
        "--name", "北京自来水", "--category", "water", "--mode", "hosted",
        "--account-rule", r"(0[1-9]|25)\d{8}",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    bills = tmp_path / "bills.csv"
    bills.write_text(HEADER + bill_line("B1") + "\n" + bill_line("B2", amount=700) + "\n")
    assert invoke(runner, "bills", "import", str(bills)).exit_code == 0


def test_a_report_on_the_command_line(cli: CliRunner, tmp_path: Path) -> None:  # noqa: F811
    _hub_with_bills(cli, tmp_path)
    # the bills were issued on the real clock: a day either side of today, so a run that
    # crosses midnight in Shanghai still finds them in the report
    today = business_date(SystemClock().now())
    days = ("--from", (today - timedelta(days=1)).isoformat(),
            "--to", (today + timedelta(days=1)).isoformat())  # fmt: skip

    shown = invoke(cli, "reports", "collection", *days, "--biller", "BJWATER")
    assert shown.exit_code == 0, shown.output
    assert "130.45" in shown.output  # billed, in yuan

    as_json = json.loads(invoke(cli, "reports", "collection", *days, "--json").stdout)
    assert as_json["tables"][0]["rows"] == [["all", 2, 13045, 0, 0, 0, "0.00", "0.00"]]

    as_csv = invoke(cli, "reports", "collection", *days, "--csv").stdout
    assert "Bills billed,Billed," in as_csv
    assert "all,2,130.45,0,0,0.00,0.00,0.00" in as_csv  # no yuan collected: 0.00

    out = tmp_path / "collection.xlsx"
    r = invoke(cli, "reports", "collection", *days, "--xlsx", "--out", str(out))
    assert r.exit_code == 0, r.output
    names = zipfile.ZipFile(io.BytesIO(out.read_bytes())).namelist()
    assert "xl/charts/chart1.xml" in names  # the progress chart, native

    empty = invoke(cli, "reports", "aging", "--from", "2020-01-01", "--to", "2020-01-31")
    assert empty.exit_code == 0
    assert "no figures in 2020-01-01..2020-01-31" in empty.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nosuch", "--from", "2026-01-01", "--to", "2026-01-02"),
         "No such command 'nosuch'"),  # a sub-command per report: --help lists them
        (("aging", "--from", "2026-02-01", "--to", "2026-01-01"), "is after --to"),
        (("aging", "--from", "2026-02-30", "--to", "2026-03-01"), "must be YYYY-MM-DD"),
        (("aging", "--from", "2026-01-01", "--to", "2026-01-02", "--by", "channel"),
         "not broken down by 'channel'"),
        (("aging", "--from", "2026-01-01", "--to", "2026-01-02", "--biller", "NOPE"),
         "no utility with the code 'NOPE'"),
    ],
)  # fmt: skip
def test_bad_input_on_the_command_line(
    cli: CliRunner,  # noqa: F811
    args: tuple[str, ...],
    message: str,
) -> None:
    r = invoke(cli, "reports", *args)
    assert r.exit_code in (1, 2)
    assert message in " ".join(r.output.replace("│", " ").split())


async def get(http: httpx.AsyncClient, headers: dict[str, str], name: str, **query: Any) -> Any:
    return await http.get(f"{REPORTS}/{name}", params=query, headers=headers)


async def test_a_report_through_the_admin_api(
    engine: AsyncEngine,
    clock: FrozenClock,
    http: httpx.AsyncClient,
    wechat: ChannelClient,
    admin_headers: AdminHeaders,
) -> None:
    await import_bills(engine, clock, bill_line("B1"), bill_line("B2", amount=700))
    await pay(wechat, "W1", "B1", 12345)
    reader = await admin_headers(TokenScope.OPS_READ)
    day = {"from": DAY.isoformat(), "to": DAY.isoformat()}

    found = await get(http, reader, "collection", **day, biller="BJWATER", by="channel")
    assert found.status_code == 200, found.text
    assert found.json()["tables"][0]["rows"] == [
        ["WECHAT", None, None, 1, 1, 12345, "50.00", "94.63"]
    ]
    csv = await get(http, reader, "channel-mix", **day, format="csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "Wallet,1,123.45,100.00" in csv.text
    book = await get(http, reader, "aging", **day, format="xlsx")
    assert book.content.startswith(b"PK")

    assert (await get(http, await admin_headers(TokenScope.METRICS_READ), "aging", **day)
            ).status_code == 403  # fmt: skip
    unknown = await get(http, reader, "nosuch", **day)
    assert unknown.status_code == 404
    assert "collection, aging, channel-mix, prepaid, autopay" in unknown.json()["detail"]
    backwards = await get(http, reader, "aging", **{"from": "2026-11-23", "to": "2026-11-22"})
    assert backwards.status_code == 400
    assert backwards.headers["content-type"] == "application/problem+json"
    empty = await get(http, reader, "autopay", **{"from": "2020-01-01", "to": "2020-01-02"})
    assert (empty.status_code, empty.json()["empty"]) == (200, True)
    assert empty.json()["notes"] == ["no figures in 2020-01-01..2020-01-02"]


def test_the_table_shows_cells_as_the_console_and_pdf_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """A count with thousands separators, an amount in yuan, a missing figure as a dash:
    the one formatting of a cell by its column's kind (``collection/cells.py``)."""
    out = io.StringIO()
    monkeypatch.setattr(cli_reports, "console", Console(file=out, width=200))
    report = collection_report()
    table = replace(report.tables[0], rows=(("东城", 123_456_789, None, None, 10_234),))
    cli_reports._print(replace(report, tables=(table,)))
    row = next(line for line in out.getvalue().splitlines() if "东城" in line).split("│")
    assert [cell.strip() for cell in row[1:-1]] == ["东城", "1,234,567.89", "—", "—", "10,234"]
