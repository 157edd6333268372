"""``utilipay receipts show`` and ``verify`` against the test database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke  # noqa: F401 (the cli fixture)
from tests.conftest import SECRET, START, WATER_RULE
from tests.helpers import bill_line, import_bills, payment_body
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.db.engine import create_engine
from utilipay.runtime.directory import Directory
from utilipay.web.app import create_app
from utilipay.web.hub import Hub
from utilipay_tools.client import ChannelClient


async def _paid_through_the_api(db_url: URL) -> tuple[str, str]:
    """A wallet pays a hosted water bill through the hub's app: (payment id, receipt no)."""
    clock = FrozenClock(START)
    engine = create_engine(db_url, pool_size=2)
    try:
        async with engine.begin() as conn:
            await channels_service.add_channel(conn, clock, code="WECHAT", secret=SECRET, actor="t")
            await billers_service.add_biller(
                conn, clock, code="BJWATER", name="北京自来水", category=Category.WATER,
                mode=IntegrationMode.HOSTED, account_rule=WATER_RULE, account_hint="10 digits",
                region="110101", actor="t",
            )  # fmt: skip
        await import_bills(engine, clock, bill_line("B202610-0001"))
        hub = Hub(engine=engine, clock=clock, directory=Directory(engine))
        await hub.directory.reload()
        transport = httpx.ASGITransport(app=create_app(hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            made = await ChannelClient(http, "WECHAT", SECRET, clock).call(
                "POST", "/v1/payments", json=payment_body()
            )
        await hub.remote_billers.close()
        return made.json()["id"], made.json()["receipt_no"]
    finally:
        await engine.dispose()


def test_an_operator_reprints_a_receipt_and_checks_its_code(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    payment_id, receipt_no = asyncio.run(_paid_through_the_api(db_url))
    shown = invoke(cli, "receipts", "show", payment_id)
    assert shown.exit_code == 0, shown.output
    assert f"凭证号: {receipt_no}" in shown.output and "人民币壹佰贰拾叁元肆角伍分" in shown.output
    code = next(line.split(": ")[1] for line in shown.output.splitlines() if "验证码" in line)

    pdf = tmp_path / "receipt.pdf"
    written = invoke(cli, "receipts", "show", payment_id, "--format", "pdf", "--out", str(pdf))
    assert written.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF-")

    genuine = invoke(cli, "receipts", "verify", "--receipt-no", receipt_no, "--code", code)
    assert genuine.exit_code == 0 and f"genuine: receipt {receipt_no} of payment" in genuine.output
    assert "123.45 yuan" in genuine.output and "SUCCEEDED" in genuine.output
    forged = invoke(cli, "receipts", "verify", "--receipt-no", receipt_no, "--code", "00000-00000")
    assert forged.exit_code == 1 and "NOT genuine" in forged.output


def test_no_receipt_for_an_unknown_payment(cli: CliRunner, engine: AsyncEngine) -> None:  # noqa: F811
    missing = invoke(cli, "receipts", "show", "P-NO-SUCH")
    assert missing.exit_code == 1 and "no payment P-NO-SUCH" in missing.output
