"""Alipay 业务明细 (the merchant's business detail bill), as downloaded from the merchant
platform or through ``alipay.data.dataservice.bill.downloadurl.query`` (bill_type trade):
GBK text, '#' lines above and below the table (the account, the period, the totals),
values often padded with a tab.

A 交易 row is PAID for its 订单金额 (the amount of our order); a 退款 row is REFUNDED for
what left the merchant's receipts, |商家实收|. Both name our order by 商户订单号 and
Alipay's by 支付宝交易号. The footer's 交易合计 and 退款合计 (counts, 商家实收, 商家优惠)
are checked against the rows.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

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
    reject,
    to_fen,
)

COLUMNS = (
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号",
    "门店名称", "操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）",
    "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）",
    "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号", "服务费（元）",
    "分润（元）", "备注",
)  # fmt: skip
TIME_FORMAT = ISO_FORMAT
KINDS = {"交易": Status.PAID, "退款": Status.REFUNDED}
# "#交易合计：3笔，商家实收共258.45元，商家优惠共0.00元"
_TOTAL = re.compile(
    r"#(?P<what>交易|退款)合计[:：]\s*(?P<count>\d+)笔[,，]\s*商家实收(?:退款)?共(?P<received>-?[\d.,]+)元"
    r"[,，]\s*商家优惠(?:退款)?共(?P<discount>-?[\d.,]+)元"
)
_START = re.compile(r"起始日期[:：]\[(\d{4})年(\d{2})月(\d{2})日")


def looks_like_alipay(data: bytes) -> bool:
    try:
        head = data[:4096].decode("gbk", errors="ignore")
    except LookupError:
        return False
    return head.startswith("#") and "支付宝交易号" in head and "商户订单号" in head


def parse_alipay_detail(data: bytes, source: str = "") -> ParsedStatement:
    check_size(data, source)
    text = decode(data, source, "gbk")
    table: list[tuple[int, str]] = []
    comments: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("#"):
            comments.append((number, raw.strip()))
        elif raw.strip():
            table.append((number, raw))
    if not table:
        raise reject(source, 1, "not an Alipay 业务明细: no table between the '#' lines")
    header_line, header = table[0]
    names = [cell.strip() for cell in header.split(",")]
    if tuple(names[: len(COLUMNS)]) != COLUMNS:
        raise reject(
            source, header_line, "not an Alipay 业务明细 header (支付宝交易号,商户订单号,…)"
        )
    rejects = Rejects(source)
    lines = []
    sums = {status: [0, 0, 0] for status in KINDS.values()}  # count, 商家实收, 商家优惠
    for number, raw in table[1:]:
        found = _row(number, raw, names, rejects)
        if found is not None:
            line, received, discount = found
            lines.append(line)
            sums[line.status][0] += 1
            sums[line.status][1] += received
            sums[line.status][2] += discount
    rejects.raise_if_any()
    parsed = ParsedStatement(Kind.ALIPAY_DETAIL, Party.CHANNEL, lines)
    _footer(parsed, comments, sums, source)
    return parsed


def _row(
    number: int, raw: str, names: list[str], rejects: Rejects
) -> tuple[StatementLine, int, int] | None:
    try:
        cells = [cell.strip() for cell in next(csv.reader(io.StringIO(raw)))]
    except csv.Error as exc:
        rejects.add(number, f"not CSV: {exc}")
        return None
    if len(cells) != len(names):
        rejects.add(number, f"{len(cells)} fields where the header has {len(names)}")
        return None
    row = dict(zip(names, cells, strict=True))
    status = KINDS.get(row["业务类型"])
    if status is None:
        rejects.add(number, f"业务类型 {row['业务类型']!r} is not 交易 or 退款")
        return None
    try:
        ordered = to_fen(row["订单金额（元）"])
        received = to_fen(row["商家实收（元）"])
        discount = to_fen(row["商家优惠（元）"] or "0")
        at = _when(row)
    except ValueError as exc:
        rejects.add(number, str(exc))
        return None
    amount = ordered if status is Status.PAID else abs(received)
    if amount <= 0 or not row["商户订单号"]:
        rejects.add(number, "a line needs a 商户订单号 and an amount above zero")
        return None
    line = channel_line(
        number,
        amount,
        status,
        at,
        order_id=row["商户订单号"],
        party_ref=row["支付宝交易号"] or None,
    )
    return line, received, discount


def _when(row: dict[str, str]) -> datetime:
    text = row["完成时间"] or row["创建时间"]
    try:
        return local_instant(text, TIME_FORMAT)
    except ValueError:
        raise ValueError(f"完成时间 {text!r} is not {TIME_FORMAT}") from None


def _footer(
    parsed: ParsedStatement,
    comments: list[tuple[int, str]],
    sums: dict[Status, list[int]],
    source: str,
) -> None:
    totals = {}
    for number, comment in comments:
        if (start := _START.search(comment)) is not None:
            parsed.declared["起始日期"] = "-".join(start.groups())
            parsed.business_date = date(*(int(part) for part in start.groups()))
        if (total := _TOTAL.match(comment)) is not None:
            totals[total["what"]] = (number, total)
            parsed.declared[f"{total['what']}合计"] = comment.removeprefix("#")
    for what, status in KINDS.items():
        if what not in totals:
            raise reject(source, comments[-1][0] if comments else 1, f"no '#{what}合计' line")
        number, total = totals[what]
        count, received, discount = sums[status]
        try:
            parsed.checks += [
                Check(f"{what}合计 笔数", int(total["count"]), count),
                Check(
                    f"{what}合计 商家实收", in_yuan(to_fen(total["received"])), in_yuan(received)
                ),
                Check(
                    f"{what}合计 商家优惠", in_yuan(to_fen(total["discount"])), in_yuan(discount)
                ),
            ]
        except ValueError as exc:
            raise reject(source, number, str(exc)) from None
