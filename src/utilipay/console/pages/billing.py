"""Billing runs and tariffs: the monthly bill run of a hosted utility started beside the
page (the billruns area's run, step by step), the runs made; the tariffs with their
versions, and a quote (the tariffs area's exact Decimal charge, rounded once to fen)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Query
from starlette.requests import Request
from starlette.responses import Response

from utilipay.billers.schemas import IntegrationMode
from utilipay.billruns.queries import latest_runs
from utilipay.billruns.service import STEPS, run_billing
from utilipay.clock import business_date
from utilipay.console import jobs as console_jobs
from utilipay.console.i18n import words
from utilipay.console.pages.accounts import accounts_host, billers_of, seen_biller
from utilipay.console.pages.imports import Counts, Note, launched, reporting
from utilipay.console.templating import render
from utilipay.console.visits import needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff import jobs
from utilipay.staff.roles import Permission, Staff
from utilipay.tariffs import service as tariffs
from utilipay.tariffs import store
from utilipay.tariffs.calculator import Usage

router = APIRouter()
Runner = Annotated[Staff, needs(Permission.BILLING_RUNS)]
KIND = "billing.run"


async def _runs_page(
    request: Request, staff: Staff, status: int = 200, **shown: object
) -> Response:
    hub = accounts_host(request)
    async with hub.engine.connect() as conn:
        runs = await latest_runs(conn, staff.billers)
        recent = await jobs.recent(conn, (KIND,), staff.billers, limit=5)
    context: dict[str, object] = {"job": None, "error": "", "period": "", "biller": ""}
    context.update(shown)
    hosted = [b for b in billers_of(request, staff) if b.mode is IntegrationMode.HOSTED]
    return render(
        request, "billing_runs.html", status_code=status, runs=runs, recent=recent,
        billers=hosted, code_of=hub.biller_code, interrupted=False, **context,
    )  # fmt: skip


@router.get("/billing-runs")
async def billing_runs(request: Request, staff: Runner) -> Response:
    return await _runs_page(request, staff)


@router.post("/billing-runs")
async def start_run(
    request: Request,
    staff: Runner,
    biller: Annotated[str, Form(max_length=32)],
    period: Annotated[str, Form(max_length=7)],
) -> Response:
    found = await seen_biller(request, staff, biller, f"bill run of {biller}")
    hub = accounts_host(request)

    async def run(note: Note) -> Counts:
        def step(name: str) -> None:
            note(STEPS.index(name), len(STEPS))

        async with hub.engine.begin() as conn:
            report = await run_billing(
                conn, hub.clock, biller=found.code, period=period, actor=staff.username,
                step=step,
            )  # fmt: skip
        return report.as_json()

    async def work(progress: console_jobs.Progress) -> console_jobs.Outcome:
        done = await reporting(progress, run)
        line = f"{done['bills_issued']} bills issued, {done['awaiting_readings']} awaiting readings"
        return line, done

    job = await launched(
        request, staff, kind=KIND, biller_id=found.id, title=f"{found.code} {period}", work=work
    )
    return await _runs_page(request, staff, 202, job=job, biller=biller, period=period)


def _quantity(text: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, words("Usage must be a number, such as 246 or 12.5.")
        ) from None


def _usage(total: str, peak: str, flat: str, valley: str) -> Usage:
    registers = [_quantity(v) for v in (peak, flat, valley)]
    if all(r is None for r in registers):
        value = _quantity(total)
        if value is None:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST,
                words("Give the usage, or peak, flat and valley."),
            )
        return Usage(value)
    return Usage.by_register(*(r or Decimal(0) for r in registers))


@router.get("/tariffs")
async def tariffs_page(
    request: Request,
    staff: Annotated[Staff, needs(Permission.TARIFFS_READ)],
    tariff: Annotated[str, Query(max_length=64)] = "",
    day: Annotated[str, Query(max_length=10)] = "",
    usage: Annotated[str, Query(max_length=32)] = "",
    peak: Annotated[str, Query(max_length=32)] = "",
    flat: Annotated[str, Query(max_length=32)] = "",
    valley: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    hub = accounts_host(request)
    form = {"tariff": tariff, "day": day, "usage": usage, "peak": peak, "flat": flat,
            "valley": valley}  # fmt: skip
    quote, error = None, ""
    async with hub.engine.connect() as conn:
        listed = await store.all_tariffs(conn)
        if tariff:
            try:
                on = date.fromisoformat(day) if day else business_date(hub.clock.now())
                quote = await tariffs.quote(conn, tariff, on, _usage(usage, peak, flat, valley))
            except ValueError:
                error = words("The day must be YYYY-MM-DD.")
            except DomainError as exc:
                error = exc.detail
    status = 400 if error else 200
    return render(
        request, "tariffs.html", status_code=status, tariffs=listed, form=form, quote=quote,
        error=error,
    )  # fmt: skip
