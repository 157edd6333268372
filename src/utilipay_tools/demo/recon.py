"""The demo's day end: reconciliation (对账) of the day's payments, then settlement (清分结算).

The wallet's statement is a WeChat Pay v3 trade bill written from what the wallet
took that day: every order the demo paid, and one order whose payment never reached
the hub (the payer was charged, the request was lost on the way: 长款). The remote
utility's statement comes from the biller simulator's own books. Both are imported,
the day is matched three ways, the break is proposed for a person and applied (a
dry run first); then, the day being over, each utility is settled with the hub's
fee taken, and the water utility's settlement file is printed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.remote import RemoteBillers
from utilipay.cli.recon import show_report
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.db.engine import create_engine
from utilipay.money import format_yuan
from utilipay.payments import exceptions
from utilipay.recon import corrections
from utilipay.recon import service as recon
from utilipay.recon.sources.common import Kind
from utilipay.recon.statements import ImportResult, import_statement
from utilipay.runtime.sample import BILLER, CHANNEL
from utilipay.settlement import config, files
from utilipay.settlement import service as settlement
from utilipay.settlement.fees import FeeRule
from utilipay_tools.billersim.simulator import Simulator
from utilipay_tools.demo import prepaid, remote
from utilipay_tools.demo.steps import Journey

ACTOR = "demo-ops"
LOST_ORDER = ("WX-LOST-0001", 4321, "2598765432")  # charged by the wallet, never at the hub
WECHAT_COLUMNS = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
WECHAT_SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
PAYEES = {  # where each utility is paid (demo accounts)
    BILLER: ("110060000012345678", "北京市自来水集团有限责任公司", "中国工商银行北京分行"),
    remote.BILLER: ("310066000087654321", "国网上海市电力公司", "中国建设银行上海分行"),
    prepaid.BILLER: ("110060000055556666", "国网北京市电力公司", "中国农业银行北京分行"),
}


async def walk(j: Journey, url: URL, day: date) -> None:
    """Reconcile and settle ``day``, as operations would the morning after."""
    morning = FrozenClock(datetime.combine(day + timedelta(days=1), time(8), SHANGHAI))
    engine = create_engine(url, pool_size=1)
    try:
        j.console.rule(f"[bold]Day end: reconciliation and settlement of {day}")
        utility_lines = await Simulator(engine, remote.CONFIG, morning).statement_lines(day)
        async with engine.begin() as conn:
            trade_bill = await _wechat_trade_bill(conn, day)
            for result in (
                await _import(conn, morning, trade_bill, f"wechat_trade_{day:%Y%m%d}.csv",
                              Kind.WECHAT_TRADE, CHANNEL, day),
                await _import(conn, morning, "\n".join(utility_lines).encode() + b"\n",
                              f"{remote.BILLER}_{day:%Y%m%d}.txt", Kind.BILLER_STATEMENT,
                              remote.BILLER, day),
            ):  # fmt: skip
                _show_import(j, result)
            report = await recon.run_day(conn, morning, day, actor=ACTOR)
        show_report(j.console, report)
        await _correct(j, engine, morning, report.id)
        await _settle(j, engine, morning, day)
    finally:
        await engine.dispose()


async def _wechat_trade_bill(conn: AsyncConnection, day: date) -> bytes:
    """What the wallet's merchant platform would give for the day (backticked CSV)."""
    start = datetime.combine(day, time(), SHANGHAI)
    rows = await conn.execute(
        text(
            "SELECT p.order_id, p.amount, p.account_no, p.finished_at FROM payments p"
            " JOIN channels c ON c.id = p.channel_id"
            " WHERE c.code = :channel AND p.status = 'SUCCEEDED'"
            " AND p.finished_at >= :start AND p.finished_at < :end ORDER BY p.finished_at"
        ),
        {"channel": CHANNEL, "start": start, "end": start + timedelta(days=1)},
    )
    paid = [(r.order_id, r.amount, r.account_no, r.finished_at) for r in rows]
    # a day's trade bill holds that day's orders only, even when the demo ran up to midnight
    last_second = start + timedelta(days=1, seconds=-1)
    lost_at = min((paid[-1][3] if paid else start) + timedelta(seconds=5), last_second)
    paid.append((*LOST_ORDER, lost_at))
    lines = [WECHAT_COLUMNS]
    for n, (order_id, amount, account_no, at) in enumerate(paid, start=1):
        yuan = files.yuan(amount)
        fields = [
            f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}", "wx81be3101902f7cb2", "1601959334",
            "0", "", f"42000009{day:%Y%m%d}{n:010d}", order_id, "o-demo-payer", "JSAPI",
            "SUCCESS", "OTHERS", "CNY", yuan, "0.00", "0", "0", "0.00", "0.00", "", "",
            f"生活缴费 {account_no}", "", "0.00000", "0.00%", yuan, "0.00", "",
        ]  # fmt: skip
        lines.append(",".join(f"`{f}" for f in fields))
    total = files.yuan(sum(amount for _, amount, _, _ in paid))
    summary = [str(len(paid)), total, "0.00", "0.00", "0.00000", total, "0.00"]
    lines += [WECHAT_SUMMARY, ",".join(f"`{f}" for f in summary)]
    return ("\n".join(lines) + "\n").encode()


async def _import(
    conn: AsyncConnection,
    clock: FrozenClock,
    data: bytes,
    name: str,
    kind: Kind,
    party: str,
    day: date,
) -> ImportResult:
    # the day is given, as an operator who fetched that day's file gives it, not
    # guessed from its lines (a file with no line of its day would say another day)
    return await import_statement(
        conn,
        clock,
        data,
        file_name=name,
        actor=ACTOR,
        kind=kind,
        party_code=party,
        business_date=day,
    )


def _show_import(j: Journey, result: ImportResult) -> None:
    checked = "its totals agree with its lines" if result.matched else "[red]totals disagree[/]"
    j.console.print(
        f"imported [bold]{result.file_name}[/bold]: {result.kind} of {result.party_code}, "
        f"{result.line_count} lines, {checked}"
    )


async def _correct(j: Journey, engine: Any, clock: FrozenClock, run_id: int) -> None:
    billers = RemoteBillers(clock)
    try:
        for dry_run in (True, False):
            done = await corrections.apply(
                engine, clock, run_id, billers, actor=ACTOR, dry_run=dry_run,
                reason="day-end reconciliation (demo)",
            )  # fmt: skip
            title = "dry run: what would be done" if dry_run else "applied (audited)"
            table = Table("item", "action", "order", "outcome", title=f"corrections, {title}")
            for d in done:
                table.add_row(str(d.item_no), d.action, d.order_id, d.outcome)
            j.console.print(table)
    finally:
        await billers.close()
    async with engine.connect() as conn:
        queued = await exceptions.list_open(conn)
    table = Table("id", "kind", "order", "amount (fen)", "outcomes", title="the exceptions queue")
    for e in queued:
        table.add_row(str(e.id), e.kind, e.order_id, str(e.amount), " ".join(e.outcomes))
    j.console.print(table)


async def _settle(j: Journey, engine: Any, clock: FrozenClock, day: date) -> None:
    async with engine.begin() as conn:
        for code, (account_no, name, bank) in PAYEES.items():
            await config.set_account(conn, clock, code, account_no=account_no,
                                     account_name=name, bank=bank, actor=ACTOR)  # fmt: skip
        fee = FeeRule(effective_from=day, rate_bp=Decimal(6), minimum=10, maximum=500)
        await config.set_fee_rule(conn, clock, config.Party.BILLER, BILLER, fee, actor=ACTOR)
        outcomes = await settlement.settle_day(conn, clock, day, actor=ACTOR)
        water = files.to_csv(await settlement.one_settlement(conn, day, BILLER))
    columns = ("top-ups (held)", "gross", "refunds", "fees", "net")
    table = Table("utility", "status", *columns, title=f"settled {day}")
    for o in outcomes:
        figures = [format_yuan(o.total(f)) for f in ("topups", "gross", "refunds", "fees", "net")]
        table.add_row(o.payee, o.status, *figures)
    j.console.print(table)
    j.console.print(f"[bold]{BILLER}'s settlement file[/bold] (CSV):")
    j.console.print(water.decode(), highlight=False, markup=False, soft_wrap=True)
