"""Imports: a bills CSV (the billing area's import), meter readings (the readings area's:
a meters or reads CSV, or Green Button XML) or, for operations, a statement (the
reconciliation's import), uploaded and run as long work beside the page. The import
services check every line: a file with a bad line imports nothing, and the job's card
names every bad line by its number. Utility staff import for one of their utilities (a
line of another is a bad line); operations for any."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from utilipay.accounts.connector import AccountsHost
from utilipay.audit import service as audit
from utilipay.billing import csvfile
from utilipay.billing import service as billing
from utilipay.console import jobs as console_jobs
from utilipay.console.i18n import words
from utilipay.console.pages.accounts import accounts_host, billers_of, seen_biller
from utilipay.console.templating import render
from utilipay.console.visits import needs, refuse
from utilipay.http.body import MAX_UPLOAD
from utilipay.readings import files as readings_files
from utilipay.recon.statements import import_statement
from utilipay.staff import jobs
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Importer = Annotated[Staff, needs(Permission.IMPORTS_RUN)]
# The file itself: the form around it (its fields, the multipart framing) takes the rest
# of what the edge lets through.
MAX_FILE = MAX_UPLOAD - 256 * 1024
KINDS = {
    "bills": "import.bills",
    "readings": "import.readings",
    "statements": "import.statements",
}
Note = Callable[[int, int | None], None]
Counts = dict[str, object]


@dataclass(frozen=True, slots=True)
class Upload:
    """What was sent, by whom, for which utility (None: the file's own, any)."""

    data: bytes
    source: str
    biller: str | None
    meter: str | None
    party: str | None  # whose statement: a channel's code, a bank account
    actor: str


async def reporting(
    progress: console_jobs.Progress, run: Callable[[Note], Awaitable[Counts]]
) -> Counts:
    """Run ``run`` (an import whose services report progress by plain calls), writing the
    latest figures to the job while it runs."""
    latest: tuple[int, int | None] = (0, None)

    def note(done: int, total: int | None) -> None:
        nonlocal latest
        latest = (done, total)

    task = asyncio.ensure_future(run(note))
    while not task.done():
        await asyncio.wait({task}, timeout=console_jobs.PROGRESS_EVERY)
        await progress(*latest)
    return task.result()


async def _bills(hub: AccountsHost, upload: Upload, note: Note) -> Counts:
    read = csvfile.read_bills(upload.data, source=upload.source, biller=upload.biller)
    written = 0

    def advance(count: int) -> None:
        nonlocal written
        written += count
        note(written, len(read.rows))

    async with hub.engine.begin() as conn:
        report = await billing.import_bills(
            conn, hub.clock, read.rows, source=upload.source, progress=advance,
            line_errors=read.errors,
        )  # fmt: skip
        counts = asdict(report)
        await _audit(conn, hub, upload, "bills.import", counts)
    return counts


async def _readings(hub: AccountsHost, upload: Upload, note: Note) -> Counts:
    async with hub.engine.begin() as conn:
        report = await readings_files.import_file(
            conn, hub.clock, upload.data, source=upload.source, actor=upload.actor,
            meter_id=upload.meter, biller=upload.biller,
            progress=lambda _what, done, total: note(done, total),
        )  # fmt: skip
        counts: Counts = dict(report.counts)
        await _audit(conn, hub, upload, "readings.import", counts)
    return counts


async def _statements(hub: AccountsHost, upload: Upload, note: Note) -> Counts:
    async with hub.engine.begin() as conn:  # the import records itself in the audit log
        found = await import_statement(
            conn, hub.clock, upload.data, file_name=upload.source, actor=upload.actor,
            party_code=upload.party, progress=lambda _what, done, total: note(done, total),
        )  # fmt: skip
    return {
        "import_id": found.import_id, "new": found.created, "kind": found.kind,
        "party": found.party_code, "lines": found.line_count,
    }  # fmt: skip


async def _audit(
    conn: AsyncConnection, hub: AccountsHost, upload: Upload, action: str, counts: Counts
) -> None:
    await audit.record(
        conn, hub.clock, actor=upload.actor, action=action, object_type="biller",
        object_id=upload.biller or "*", reason=upload.source, details=counts,
    )  # fmt: skip


IMPORTS = {"bills": _bills, "readings": _readings, "statements": _statements}


def _work(hub: AccountsHost, kind: str, upload: Upload) -> console_jobs.Work:
    async def work(progress: console_jobs.Progress) -> console_jobs.Outcome:
        counts = await reporting(progress, lambda note: IMPORTS[kind](hub, upload, note))
        return ", ".join(f"{name} {n}" for name, n in counts.items()), counts

    return work


async def launched(
    request: Request,
    staff: Staff,
    *,
    kind: str,
    biller_id: int | None,
    title: str,
    work: console_jobs.Work,
) -> jobs.Job:
    """Start the work beside the request; its job, for the page to show its card."""
    job_id = await console_jobs.launch(
        request, staff, kind=kind, biller_id=biller_id, title=title, work=work
    )
    async with accounts_host(request).engine.connect() as conn:
        return await jobs.find(conn, job_id)


async def _page(request: Request, staff: Staff, status: int = 200, **shown: object) -> Response:
    hub = accounts_host(request)
    async with hub.engine.connect() as conn:
        recent = await jobs.recent(conn, tuple(KINDS.values()), staff.billers)
    context: dict[str, object] = {"job": None, "error": "", "kind": "bills", "biller": ""}
    context.update(shown)
    return render(
        request, "imports.html", status_code=status, recent=recent, interrupted=False,
        billers=billers_of(request, staff), max_mb=MAX_FILE // (1024 * 1024), **context,
    )  # fmt: skip


@router.get("/imports")
async def imports(request: Request, staff: Importer) -> Response:
    return await _page(request, staff)


@router.post("/imports/upload")
async def upload_file(
    request: Request,
    staff: Importer,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=16)] = "bills",
    biller: Annotated[str, Form(max_length=32)] = "",
    meter: Annotated[str, Form(max_length=64)] = "",
    party: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    shown = {"kind": kind, "biller": biller}
    if kind not in KINDS:
        return await _page(request, staff, 400, error=words("Choose what the file holds."), **shown)
    if kind == "statements" and staff.billers is not None:  # a statement is not one utility's
        raise await refuse(request, staff, "statements are imported by operations")
    if staff.billers is not None and not biller:
        error = words("Choose the utility the file is for.")
        return await _page(request, staff, 400, error=error, **shown)
    found = await seen_biller(request, staff, biller, f"import for {biller}") if biller else None
    data = await file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        error = words("The file is too large: split it into files of at most {mb} MB.")
        return await _page(request, staff, 413, error=error, **shown)
    if not data:
        return await _page(request, staff, 400, error=words("The file is empty."), **shown)
    source = (file.filename or "uploaded file")[:200]
    upload = Upload(
        data, source, biller or None, meter.strip() or None, party.strip() or None, staff.username
    )
    job = await launched(
        request, staff, kind=KINDS[kind], biller_id=None if found is None else found.id,
        title=f"{kind}: {source}", work=_work(accounts_host(request), kind, upload),
    )  # fmt: skip
    return await _page(request, staff, 202, job=job, **shown)
