"""``utilipay reports analysis``: a utility's monthly collection analysis (月度回收分析),
made now (the figures may have changed since the worker made it), kept for the console,
and written as PDF or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers
from utilipay.cli.runtime import console, default_actor, run_in_transaction
from utilipay.clock import SystemClock
from utilipay.collection import analyses
from utilipay.collection.analyses import Documents, documents_maker
from utilipay.collection.analysis import month_of
from utilipay.console.i18n import Locale, translator
from utilipay.errors import DomainError, ErrorCode


def _kind(out: Path) -> analyses.Kind:
    suffix = out.suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    if suffix == ".xlsx":
        return "xlsx"
    raise typer.BadParameter(f"{out} must end in .pdf or .xlsx")


def analysis(
    biller: Annotated[str, typer.Option("--biller", help="the utility's code, e.g. BJWATER")],
    month: Annotated[str, typer.Option(help="the month, YYYY-MM")],
    out: Annotated[
        Path | None, typer.Option(help="write the PDF or the XLSX (by its suffix) here")
    ] = None,
) -> None:
    """Make a utility's monthly collection analysis now and keep it; --out writes it."""
    kind = _kind(out) if out is not None else None
    try:
        first = month_of(month)
    except DomainError as exc:
        raise typer.BadParameter(exc.detail) from None
    actor = default_actor()

    async def work(conn: AsyncConnection) -> Documents:
        found = await billers.by_code(conn, biller)
        if found is None:
            raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no utility {biller}")
        make = documents_maker(translator(Locale.ZH_CN))
        return await analyses.make_now(conn, SystemClock(), found.id, first, make, actor=actor)

    documents = run_in_transaction(work)
    written = ""
    if out is not None and kind is not None:
        out.write_bytes(documents.pdf if kind == "pdf" else documents.xlsx)
        written = f", {kind.upper()} written to {out}"
    console.print(
        f"analysis of {biller} {first:%Y-%m} made and kept "
        f"(PDF {len(documents.pdf):,} bytes, XLSX {len(documents.xlsx):,} bytes){written}",
        highlight=False,
    )
