"""``utilipay receipts``: reprinting a payment's receipt, and checking one's verification code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.cli.runtime import console, err_console, run_in_transaction
from utilipay.clock import SystemClock, to_shanghai_iso
from utilipay.money import format_yuan
from utilipay.receipts import service
from utilipay.receipts.api import ReceiptFormat, rendered
from utilipay.receipts.schemas import Receipt

receipts_app = typer.Typer(help="Receipts (缴费凭证): reprint one, check a verification code.")


@receipts_app.command("show")
def show(
    payment_id: Annotated[str, typer.Argument(help="the hub's payment id (P…)")],
    receipt_format: Annotated[
        ReceiptFormat, typer.Option("--format", help="text (58 mm, 32 columns) or pdf")
    ] = "text",
    out: Annotated[
        Path | None, typer.Option(help="write it to this file [default: stdout]")
    ] = None,
) -> None:
    """A payment's receipt, as the channel's API gives it, for an operator reprinting it."""

    async def work(conn: AsyncConnection) -> Receipt:
        payment = await service.payment_with_receipt(conn, payment_id)
        return await service.build(conn, payment, SystemClock().now())

    content = rendered(run_in_transaction(work), receipt_format)
    if out is not None:
        out.write_bytes(content)
        console.print(f"receipt of {payment_id} written to {out}", highlight=False)
    elif receipt_format == "pdf" and sys.stdout.isatty():
        err_console.print("[red]error:[/red] a PDF is not for a terminal: give --out FILE")
        raise typer.Exit(1)
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()


@receipts_app.command("verify")
def verify(
    receipt_no: Annotated[str, typer.Option("--receipt-no", help="the receipt's 凭证号")],
    code: Annotated[str, typer.Option(help="the receipt's 验证码, e.g. K7QX2-M9PDA")],
) -> None:
    """Whether a printed receipt is genuine: exit 0 if its code is the hub's, 1 if not."""

    async def work(conn: AsyncConnection) -> service.Verdict:
        return await service.verify(conn, receipt_no, code, SystemClock().now())

    verdict = run_in_transaction(work)
    if not verdict.genuine or verdict.amount is None or verdict.paid_at is None:
        err_console.print(f"NOT genuine: no receipt {receipt_no} has that code", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"genuine: receipt {receipt_no} of payment {verdict.payment_id}, "
        f"{format_yuan(verdict.amount)} yuan, taken {to_shanghai_iso(verdict.paid_at)}, "
        f"now {verdict.status}",
        highlight=False,
    )
