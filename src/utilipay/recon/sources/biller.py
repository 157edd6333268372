"""A utility's daily statement in the biller protocol's format (biller-protocol.md §6):

    H|biller|yyyyMMdd|count|net
    D|orderno|billerserial|account|amount|channel|yyyyMMddHHmmss|SUCCESS or REVERSED

amounts in fen, times in Beijing. A SUCCESS line is PAID, a REVERSED line REVERSED;
``orderno`` is our payment id. The header's count (D lines) and net (SUCCESS minus
REVERSED) are checked against the lines, and every line's time against the header's day.
"""

from __future__ import annotations

from datetime import date, datetime

from utilipay.money import in_yuan, parse_fen
from utilipay.recon.sources.common import (
    Check,
    Kind,
    ParsedStatement,
    Party,
    Rejects,
    StatementLine,
    Status,
    channel_line,
    check_size,
    decode,
    local_instant,
    reject,
)

STATUSES = {"SUCCESS": Status.PAID, "REVERSED": Status.REVERSED}
HEADER_FIELDS, LINE_FIELDS = 5, 8


def looks_like_biller_statement(data: bytes) -> bool:
    return data[:2] == b"H|" and data.split(b"\n", 1)[0].count(b"|") == HEADER_FIELDS - 1


def _header(record: list[str], source: str) -> tuple[str, date, int, int]:
    if len(record) != HEADER_FIELDS or record[0] != "H" or not record[1]:
        raise reject(source, 1, "the first line must be H|biller|yyyyMMdd|count|net")
    try:
        day = datetime.strptime(record[2], "%Y%m%d").date()
        return record[1], day, parse_fen(record[3]), parse_fen(record[4])
    except ValueError as exc:
        raise reject(source, 1, f"bad header: {exc}") from None


def _line(number: int, record: list[str], rejects: Rejects) -> StatementLine | None:
    if len(record) != LINE_FIELDS or record[0] != "D":
        rejects.add(number, "not D|orderno|billerserial|account|amount|channel|time|status")
        return None
    _, orderno, serial, account, amount_text, channel, when, outcome = record
    status = STATUSES.get(outcome)
    if status is None:
        rejects.add(number, f"status {outcome!r} is not SUCCESS or REVERSED")
        return None
    try:
        amount = parse_fen(amount_text)
        at = local_instant(when, "%Y%m%d%H%M%S")
    except ValueError as exc:
        rejects.add(number, str(exc))
        return None
    if amount <= 0 or not orderno:
        rejects.add(number, "a line needs an orderno and an amount above zero")
        return None
    return channel_line(
        number, amount, status, at, order_id=orderno, party_ref=serial or None,
        account_no=account or None, channel_code=channel or None,
    )  # fmt: skip


def parse_biller_statement(data: bytes, source: str = "") -> ParsedStatement:
    check_size(data, source)
    records = decode(data, source).splitlines()
    biller, day, count, net = _header(records[0].split("|"), source)
    rejects = Rejects(source)
    lines: list[StatementLine] = []
    for number, text in enumerate(records[1:], start=2):
        if not text.strip():
            continue
        found = _line(number, text.split("|"), rejects)
        if found is not None:
            lines.append(found)
    rejects.raise_if_any()
    parsed = ParsedStatement(Kind.BILLER_STATEMENT, Party.BILLER, lines, biller, day)
    parsed.declared = {"biller": biller, "date": day.isoformat(), "count": count, "net": net}
    signed = sum(x.amount if x.status is Status.PAID else -x.amount for x in lines)
    off_day = [x.line_no for x in lines if x.business_date != day]
    parsed.checks += [
        Check("H count", count, len(lines)),
        Check("H net", in_yuan(net), in_yuan(signed)),
        Check("lines on other days", "none", ", ".join(map(str, off_day)) or "none"),
    ]
    return parsed
