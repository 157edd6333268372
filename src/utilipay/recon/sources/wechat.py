"""WeChat Pay v3 bills, as the download API returns them (UTF-8 CSV, every value prefixed
with a backtick so spreadsheets keep long numbers as text).

交易账单 (trade bill, ``bill_type=ALL``): one row per payment (交易状态 SUCCESS) or refund
(REFUND), then a summary header row (总交易单数, 应结订单总金额, …) and its values. A
payment line is PAID for its 订单金额 (what the payer was charged, the amount the hub's
order carries); a refund line is REFUNDED for its 申请退款金额 (what the merchant asked
back, the hub's refund). Both name our order by 商户订单号 and WeChat's by 微信订单号.
The summary is every column summed over all rows, and is checked column by column.

资金账单 (fund-flow bill): the merchant's WeChat balance moving, 收入 (CREDIT) or 支出
(DEBIT), with the balance after each row and a summary of counts and sums; the running
balance is checked too. It names no order of ours (业务凭证号 is a refund number on
refund rows), so its lines carry WeChat's business number only. That balance is an
account the money sits in, so the bill is a bank-side statement (party ``bank``, the
account named by the operator): order reconciliation, which takes a channel's newest
statement of the day, never mistakes it for the trade bill.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

from utilipay.money import in_yuan
from utilipay.recon.sources.common import (
    ISO_FORMAT,
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
    one_day,
    reject,
    to_fen,
)

TIME_FORMAT = ISO_FORMAT
TRADE_MARK = ("交易时间", "微信订单号", "商户订单号")
FUNDFLOW_MARK = ("记账时间", "资金流水单号", "收支类型")
TRADE_SUMMARY = "总交易单数"
FUNDFLOW_SUMMARY = "资金流水总笔数"
# summary column -> the row column it sums; in fen, except the fee (to 1/1000 fen)
TRADE_SUMS = {
    "应结订单总金额": "应结订单金额",
    "退款总金额": "退款金额",
    "充值券退款总金额": "充值券退款金额",
    "订单总金额": "订单金额",
    "申请退款总金额": "申请退款金额",
}
FEE_TOTAL, FEE = "手续费总金额", "手续费"
STATUSES = {"SUCCESS": Status.PAID, "REFUND": Status.REFUNDED}


def _rows(text: str, source: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield reader.line_num, [cell.strip().removeprefix("`").strip() for cell in row]
    except csv.Error as exc:
        raise reject(source, reader.line_num + 1, f"not CSV: {exc}") from None


def _header(text: str) -> list[str]:
    first = text.split("\n", 1)[0]
    return [cell.strip() for cell in first.split(",")]


def looks_like_trade(text: str) -> bool:
    head = _header(text)
    return all(mark in head for mark in TRADE_MARK)


def looks_like_fundflow(text: str) -> bool:
    head = _header(text)
    return all(mark in head for mark in FUNDFLOW_MARK)


class _Table:
    """The bill's rows before its summary, the summary header and values after."""

    def __init__(self, text: str, source: str, summary_mark: str) -> None:
        rows = list(_rows(text, source))
        if not rows:
            raise reject(source, 1, "the file is empty")
        self.header = rows[0][1]
        self.body: list[tuple[int, dict[str, str]]] = []
        self.summary: dict[str, str] = {}
        self.summary_line = 0
        rejects = Rejects(source)
        width = len(self.header)
        for index, (line, cells) in enumerate(rows[1:], start=1):
            if cells[0] == summary_mark:
                self._read_summary(rows[index + 1 :], cells, line, source)
                break
            if len(cells) != width:
                rejects.add(line, f"{len(cells)} fields where the header has {width}")
                continue
            self.body.append((line, dict(zip(self.header, cells, strict=True))))
        else:
            rejects.add(rows[-1][0], f"no summary row ({summary_mark}) at the end")
        rejects.raise_if_any()

    def _read_summary(
        self, after: list[tuple[int, list[str]]], names: list[str], line: int, source: str
    ) -> None:
        if len(after) != 1:
            raise reject(source, line, "the summary header must be followed by one row, the last")
        self.summary_line, values = after[0]
        if len(values) != len(names):
            raise reject(source, self.summary_line, "the summary row does not fit its header")
        self.summary = dict(zip(names, values, strict=True))


def _amount(row: dict[str, str], column: str, line: int, rejects: Rejects) -> int:
    try:
        return to_fen(row.get(column, "") or "0")
    except ValueError as exc:
        rejects.add(line, f"{column}: {exc}")
        return 0


def parse_trade_bill(data: bytes, source: str = "") -> ParsedStatement:
    check_size(data, source)
    table = _Table(decode(data, source), source, TRADE_SUMMARY)
    missing = [c for c in (*TRADE_MARK, "交易状态", "订单金额", "申请退款金额")
               if c not in table.header]  # fmt: skip
    if missing:
        raise reject(source, 1, f"not a WeChat Pay trade bill: no column {', '.join(missing)}")
    rejects = Rejects(source)
    lines: list[StatementLine] = []
    sums = dict.fromkeys(TRADE_SUMS.values(), 0)
    fees = Decimal(0)
    for line, row in table.body:
        for column in sums:
            sums[column] += _amount(row, column, line, rejects)
        try:
            fees += _fee(row.get(FEE) or "0")
        except ArithmeticError:
            rejects.add(line, f"{FEE} {row.get(FEE)!r} is not a decimal number")
        found = _trade_line(line, row, rejects)
        if found is not None:
            lines.append(found)
    rejects.raise_if_any()
    parsed = ParsedStatement(Kind.WECHAT_TRADE, Party.CHANNEL, lines)
    parsed.declared = table.summary
    _check_trade_summary(parsed, table, sums, fees, len(table.body), source)
    return parsed


def _fee(text: str) -> Decimal:
    """A fee, to a thousandth of a fen: a number (NaN and infinity are not)."""
    value = Decimal(text)
    if not value.is_finite():
        raise ArithmeticError(f"{text!r} is not a finite number")
    return value


def _trade_line(line: int, row: dict[str, str], rejects: Rejects) -> StatementLine | None:
    status = STATUSES.get(row["交易状态"])
    if status is None:
        rejects.add(line, f"交易状态 {row['交易状态']!r} is not SUCCESS or REFUND")
        return None
    column = "订单金额" if status is Status.PAID else "申请退款金额"
    try:
        amount = to_fen(row[column])
    except ValueError:
        return None  # already named where the columns are summed
    if amount <= 0:
        rejects.add(line, f"{column} {row[column]!r} must be more than zero")
        return None
    if not row["商户订单号"]:
        rejects.add(line, "no 商户订单号")
        return None
    try:
        at = local_instant(row["交易时间"], TIME_FORMAT)
    except ValueError:
        rejects.add(line, f"交易时间 {row['交易时间']!r} is not {TIME_FORMAT}")
        return None
    return channel_line(
        line, amount, status, at, order_id=row["商户订单号"], party_ref=row["微信订单号"] or None
    )


def _check_trade_summary(
    parsed: ParsedStatement,
    table: _Table,
    sums: dict[str, int],
    fees: Decimal,
    rows: int,
    source: str,
) -> None:
    declared = table.summary
    try:
        parsed.checks.append(Check(TRADE_SUMMARY, int(declared[TRADE_SUMMARY]), rows))
        for total, column in TRADE_SUMS.items():
            if total in declared:
                parsed.checks.append(
                    Check(total, in_yuan(to_fen(declared[total])), in_yuan(sums[column]))
                )
        if FEE_TOTAL in declared:
            parsed.checks.append(Check(FEE_TOTAL, _fee(declared[FEE_TOTAL]), fees))
    except (ValueError, KeyError, ArithmeticError) as exc:
        raise reject(source, table.summary_line, f"the summary row cannot be read: {exc}") from None


def parse_fundflow_bill(data: bytes, source: str = "") -> ParsedStatement:
    check_size(data, source)
    table = _Table(decode(data, source), source, FUNDFLOW_SUMMARY)
    rejects = Rejects(source)
    lines: list[StatementLine] = []
    balance: int | None = None
    broken: Check | None = None
    for line, row in table.body:
        amount = _amount(row, "收支金额(元)", line, rejects)
        after = _amount(row, "账户结余(元)", line, rejects)
        kind = row.get("收支类型", "")
        if kind not in {"收入", "支出"} or amount <= 0:
            rejects.add(line, f"收支类型 {kind!r} / 收支金额 {row.get('收支金额(元)')!r} unusable")
            continue
        signed = amount if kind == "收入" else -amount
        if balance is not None and broken is None and balance + signed != after:
            broken = Check(f"账户结余 on line {line}", in_yuan(after), in_yuan(balance + signed))
        balance = after
        try:
            at = local_instant(row["记账时间"], TIME_FORMAT)
        except ValueError:
            rejects.add(line, f"记账时间 {row['记账时间']!r} is not {TIME_FORMAT}")
            continue
        status = Status.CREDIT if kind == "收入" else Status.DEBIT
        lines.append(channel_line(line, amount, status, at, party_ref=row["微信支付业务单号"]))
    rejects.raise_if_any()
    parsed = ParsedStatement(Kind.WECHAT_FUNDFLOW, Party.BANK, lines)
    parsed.business_date = one_day(lines)
    parsed.declared = table.summary
    _check_fundflow_summary(parsed, table, source)
    if broken is not None:
        parsed.checks.append(broken)
    return parsed


def _check_fundflow_summary(parsed: ParsedStatement, table: _Table, source: str) -> None:
    declared = table.summary
    credits = [x.amount for x in parsed.lines if x.status is Status.CREDIT]
    debits = [x.amount for x in parsed.lines if x.status is Status.DEBIT]
    try:
        parsed.checks += [
            Check(FUNDFLOW_SUMMARY, int(declared[FUNDFLOW_SUMMARY]), len(parsed.lines)),
            Check("收入笔数", int(declared["收入笔数"]), len(credits)),
            Check("收入金额", in_yuan(to_fen(declared["收入金额"])), in_yuan(sum(credits))),
            Check("支出笔数", int(declared["支出笔数"]), len(debits)),
            Check("支出金额", in_yuan(to_fen(declared["支出金额"])), in_yuan(sum(debits))),
        ]
    except (ValueError, KeyError) as exc:
        raise reject(source, table.summary_line, f"the summary row cannot be read: {exc}") from None
