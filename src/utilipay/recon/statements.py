"""Importing a statement file into the normalized form (issue 6, contract 1).

The format is told by the content unless the operator names it (a generic CSV always
needs its layout). The whole file is read and checked before anything is written: a bad
line refuses the file, named by its number. Then what the file says about itself
(summary row, header count and net, balances) is compared with its lines. A file
that disagrees with itself is refused too — a reconciler that took it would reconcile
against numbers the sender does not stand behind — unless the operator accepts it
(``accept_mismatch``): it is then imported with every disagreement kept in its summary,
flagged in the result and recorded in the audit log under the operator's name.

The same file (by SHA-256) from the same party is imported once: again, it changes
nothing and answers with the first import. Lines go in with COPY.

A bank statement's credit lines that carry an outlet's deposit reference become float
deposits in the import's transaction (``outlets.deposits``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import repository as billers_repo
from utilipay.channels import repository as channels_repo
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets.deposits import match_statement_deposits
from utilipay.readings.repository import Progress, copy_rows
from utilipay.recon import columnar
from utilipay.recon.columnar import KEPT_PARTIES, Kept
from utilipay.recon.sources import alipay, biller, camt, generic, swift_mt940, wechat
from utilipay.recon.sources.common import (
    Check,
    Kind,
    ParsedStatement,
    Party,
    Status,
    reject,
)
from utilipay.recon.statement_tables import statement_imports, statement_lines

_CURRENCY = re.compile(r"[A-Z]{3}")
INFLOWS = {Status.PAID, Status.CREDIT}


class StatementMismatch(DomainError):
    """The file's own totals or balances disagree with its lines; nothing imported."""

    def __init__(self, source: str, mismatches: list[Check]) -> None:
        listed = "\n".join(f"  {check}" for check in mismatches)
        super().__init__(
            ErrorCode.MALFORMED_REQUEST,
            f"{source}: the file disagrees with itself, nothing imported "
            f"(import it anyway with --accept-mismatch):\n{listed}",
        )
        self.mismatches = mismatches


@dataclass(frozen=True, slots=True)
class ImportResult:
    import_id: int
    created: bool  # False: this file was imported before; nothing changed
    kind: str
    party: str
    party_code: str
    business_date: date | None
    file_name: str
    line_count: int
    total_amount: int
    summary: dict[str, Any]
    float_deposits: int = 0  # a bank statement's lines credited to outlets' floats

    @property
    def matched(self) -> bool:
        return bool(self.summary.get("matched"))

    def as_json(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id, "created": self.created, "kind": self.kind,
            "party": self.party, "party_code": self.party_code,
            "business_date": self.business_date.isoformat() if self.business_date else None,
            "file_name": self.file_name, "line_count": self.line_count,
            "total_amount": self.total_amount, "matched": self.matched, "summary": self.summary,
            "float_deposits": self.float_deposits,
        }  # fmt: skip


def detect(data: bytes, source: str = "") -> Kind:
    """The format by its content; a generic CSV is never guessed."""
    if biller.looks_like_biller_statement(data):
        return Kind.BILLER_STATEMENT
    if camt.looks_like_camt053(data):
        return Kind.CAMT053
    if swift_mt940.looks_like_mt940(data):
        return Kind.MT940
    if alipay.looks_like_alipay(data):
        return Kind.ALIPAY_DETAIL
    head = data[:4096].decode("utf-8-sig", errors="ignore")
    if wechat.looks_like_trade(head):
        return Kind.WECHAT_TRADE
    if wechat.looks_like_fundflow(head):
        return Kind.WECHAT_FUNDFLOW
    raise reject(
        source, 1, "not a format known by its content (WeChat Pay trade or fund-flow bill, "
        "Alipay 业务明细, biller statement, camt.053, MT940): name the kind"
    )  # fmt: skip


def parse(
    data: bytes,
    kind: Kind,
    *,
    source: str = "",
    account: str | None = None,
    layout: generic.CsvLayout | None = None,
) -> ParsedStatement:
    """Read a whole file of ``kind``; ``account`` picks a bank file's account."""
    if kind is Kind.GENERIC_CSV:
        if layout is None:
            raise DomainError(ErrorCode.MALFORMED_REQUEST, "a generic CSV needs its layout")
        return generic.parse_generic_csv(data, layout, source)
    if kind is Kind.CAMT053:
        return camt.parse_camt053(data, source, account)
    if kind is Kind.MT940:
        return swift_mt940.parse_mt940(data, source, account)
    readers = {
        Kind.WECHAT_TRADE: wechat.parse_trade_bill,
        Kind.WECHAT_FUNDFLOW: wechat.parse_fundflow_bill,
        Kind.ALIPAY_DETAIL: alipay.parse_alipay_detail,
        Kind.BILLER_STATEMENT: biller.parse_biller_statement,
    }
    return readers[kind](data, source)


async def _party_code(
    conn: AsyncConnection, parsed: ParsedStatement, given: str | None, source: str
) -> str:
    """Whose statement it is: the file's own word (biller, bank account), else the
    operator's; a channel or biller must be one the hub knows."""
    if parsed.party_code and given and given != parsed.party_code:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{source} is {parsed.party.value} {parsed.party_code}'s, not {given}'s",
        )
    code = parsed.party_code or given
    if not code:
        whose = {Party.CHANNEL: "channel code", Party.BILLER: "biller code",
                 Party.BANK: "account"}[parsed.party]  # fmt: skip
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"{source} does not say whose it is: give the {whose}"
        )
    if parsed.party is Party.CHANNEL and await channels_repo.by_code(conn, code) is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no channel {code}")
    if parsed.party is Party.BILLER and await billers_repo.by_code(conn, code) is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {code}")
    return code


def _business_date(parsed: ParsedStatement, given: date | None, source: str) -> date | None:
    if given and parsed.party is Party.BILLER and parsed.business_date not in (None, given):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{source} is the statement of {parsed.business_date}, not of {given}",
        )
    day = given or parsed.business_date
    if day is None and parsed.party is not Party.BANK:
        days = {line.business_date for line in parsed.lines}
        if len(days) != 1:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST,
                f"{source} holds lines of {len(days)} days: give the statement's date",
            )
        day = days.pop()
    if day is not None and parsed.party is not Party.BANK:
        elsewhere = [x.line_no for x in parsed.lines if x.business_date != day]
        if elsewhere:
            parsed.notes.append(f"{len(elsewhere)} line(s) on other days than {day}, "
                                f"first line {elsewhere[0]}")  # fmt: skip
    return day


def _check_lines(parsed: ParsedStatement, source: str) -> None:
    bad = [x.line_no for x in parsed.lines if not _CURRENCY.fullmatch(x.currency)]
    if bad:
        raise reject(source, bad[0], "no three-letter currency code")


async def import_statement(
    conn: AsyncConnection,
    clock: Clock,
    data: bytes,
    *,
    file_name: str,
    actor: str,
    kind: Kind | None = None,
    party_code: str | None = None,
    business_date: date | None = None,
    layout: generic.CsvLayout | None = None,
    accept_mismatch: bool = False,
    progress: Progress | None = None,
    kept: Kept | None = None,
) -> ImportResult:
    """Import one statement file, all of it or nothing (see the module's docstring).
    A channel's or biller's lines are also kept as a file for runs (``kept``, by default
    under the hub's home: columnar.py)."""
    kind = kind or detect(data, file_name)
    account = party_code if kind in {Kind.CAMT053, Kind.MT940} else None
    parsed = parse(data, kind, source=file_name, account=account, layout=layout)
    _check_lines(parsed, file_name)
    code = await _party_code(conn, parsed, party_code, file_name)
    day = _business_date(parsed, business_date, file_name)
    total = sum(x.amount if x.status in INFLOWS else -x.amount for x in parsed.lines)
    row = {
        "kind": kind.value, "party": parsed.party.value, "party_code": code,
        "business_date": day, "file_name": file_name, "line_count": len(parsed.lines),
        "total_amount": total, "sha256": hashlib.sha256(data).hexdigest(),
    }  # fmt: skip
    if (earlier := await _earlier(conn, row)) is not None:
        return earlier  # imported before (accepted then, if it disagreed with itself)
    if not parsed.matched and not accept_mismatch:
        raise StatementMismatch(file_name, parsed.mismatches)
    summary = parsed.summary()
    if not parsed.matched:
        summary["accepted_by"] = actor
    new_id = await conn.scalar(
        insert(statement_imports)
        .values(**row, summary=summary, actor=actor, imported_at=clock.now())
        .on_conflict_do_nothing()
        .returning(statement_imports.c.id)
    )
    if new_id is None:  # another transaction imported it a moment ago, and committed
        if (earlier := await _earlier(conn, row)) is not None:
            return earlier
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE, f"{file_name} is being imported: retry")
    await _write_lines(conn, new_id, parsed, progress)
    if parsed.party.value in KEPT_PARTIES:
        await columnar.keep(conn, new_id, kept or Kept.of_hub())
    await audit.record(
        conn, clock, actor=actor, action="statement.import", object_type="statement_import",
        object_id=str(new_id), reason="" if parsed.matched else "accepted with a mismatch",
        details={"kind": kind.value, "party_code": code, "lines": len(parsed.lines),
                 "matched": parsed.matched},
    )  # fmt: skip
    deposits = 0
    if parsed.party is Party.BANK:
        report = await match_statement_deposits(conn, clock, import_id=new_id, actor=actor)
        deposits = len(report.deposits)
    return replace(_result(new_id, True, row, summary), float_deposits=deposits)


async def _write_lines(
    conn: AsyncConnection, import_id: int, parsed: ParsedStatement, progress: Progress | None
) -> None:
    records = [
        (import_id, x.line_no, x.order_id, x.party_ref, x.account_no, x.amount, x.currency,
         x.status.value, x.channel_code, x.occurred_at, x.business_date, x.counterparty,
         x.bank_ref, x.remittance)
        for x in parsed.lines
    ]  # fmt: skip
    await copy_rows(conn, statement_lines, records, progress)


async def _earlier(conn: AsyncConnection, row: dict[str, Any]) -> ImportResult | None:
    t = statement_imports.c
    found = (
        await conn.execute(
            select(t.id, t.business_date, t.file_name, t.summary).where(
                t.party == row["party"],
                t.party_code == row["party_code"],
                t.sha256 == row["sha256"],
            )
        )
    ).one_or_none()
    if found is None:
        return None
    earlier = {**row, "business_date": found.business_date, "file_name": found.file_name}
    return _result(found.id, False, earlier, found.summary)


def _result(import_id: int, created: bool, row: dict[str, Any], summary: Any) -> ImportResult:
    return ImportResult(
        import_id, created, row["kind"], row["party"], row["party_code"], row["business_date"],
        row["file_name"], row["line_count"], row["total_amount"], summary,
    )  # fmt: skip
