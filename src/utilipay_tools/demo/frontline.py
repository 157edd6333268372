"""The demo's front line (channel-api.md §11, §12): a village shop and a home collector.

An agent channel runs a village shop with a fixed POS and an electrician collecting at the
door with a mobile POS. The shop's owner pays a float in; the POS takes a payment and
prints its 58 mm receipt; a payment the float cannot cover is refused; a payment is voided
at the counter; a recharge voucher the shop sold from its float is redeemed. The collector
asks what a household owes (late fee included), takes the cash where there is no signal
and sends the payment when back in coverage (store and forward). Both operators close
their shifts: the collector's cash is 0.50 yuan short, and the hub records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import URL

from utilipay.billing import csvfile
from utilipay.billing import service as billing_service
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import ChannelKind
from utilipay.clock import SystemClock, business_date, to_shanghai_iso
from utilipay.db.engine import create_engine
from utilipay.outlets import deposits, service, terminal_admin
from utilipay.outlets.schemas import OutletKind, TerminalType
from utilipay.vouchers import issue as vouchers_issue
from utilipay.vouchers import service as vouchers
from utilipay_tools.client import TerminalClient
from utilipay_tools.demo.steps import Journey

CHANNEL = "VILLAGE"
CHANNEL_SECRET = "demo-village-agent-secret-change-me"  # noqa: S105 (public demo data)
BILLER = "BJWATER"
SHOP, COLLECTOR = "SHOP-0001", "COLLECT-01"
SHOP_OPERATOR, COLLECTOR_OPERATOR = "0001", "OP01"
VOUCHER_FACE = 10000


def _bills(today: date) -> bytes:
    """Households of the village: the shop's customers, and one in arrears the collector
    visits (its late fee as the utility billed it)."""
    due = today + timedelta(days=20)
    overdue = today - timedelta(days=40)
    rows = [
        ("0112000001", "王五", "V202611-0001", 9000, 0, due),
        ("0112000002", "赵六", "V202611-0002", 35000, 0, due),
        ("0112000003", "孙七", "V202611-0003", 4000, 0, due),
        ("0112000004", "周八", "V202611-0004", 6000, 0, due),
        ("0112000005", "吴九", "V202610-0005", 3000, 150, overdue),
    ]
    lines = ["biller,account,holder,bill_no,period,amount,late_fee,due_date"]
    lines += [f"{BILLER},{a},{h},{b},{d:%Y-%m},{amt},{fee},{d}" for a, h, b, amt, fee, d in rows]
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True, slots=True)
class FrontLine:
    shop: TerminalClient
    collector: TerminalClient
    pin: str
    serial: str


async def set_up(url: URL, j: Journey) -> FrontLine:
    """What the hub's operators do before the day (the CLI's ``channels add --kind agent``,
    ``outlets add``, ``terminals add``, ``operators add``, ``outlets deposit``, ``vouchers
    issue``), and the utility's new bills."""
    clock = SystemClock()
    engine = create_engine(url, pool_size=1)
    secrets: dict[str, tuple[str, str]] = {}
    pins: list[tuple[str, str]] = []
    async with engine.begin() as conn:
        rows = csvfile.parse_bills(_bills(business_date(clock.now())), source="village bills")
        await billing_service.import_bills(conn, clock, rows, source="village bills")
        await channels_service.add_channel(
            conn, clock, code=CHANNEL, name="乡村代收网络 (demo)", secret=CHANNEL_SECRET,
            kind=ChannelKind.AGENT, actor="demo",
        )  # fmt: skip
        for code, name, kind, device, operator, operator_name in (
            (SHOP, "东村小卖部", OutletKind.SHOP, TerminalType.POS_FIXED, SHOP_OPERATOR, "陈小红"),
            (COLLECTOR, "供电所上门收费", OutletKind.COLLECTOR, TerminalType.POS_MOBILE,
             COLLECTOR_OPERATOR, "王电工"),
        ):  # fmt: skip
            await service.add_outlet(
                conn, clock, channel=CHANNEL, code=code, name=name, kind=kind,
                region="泉州市南安市", low_threshold=20000, owner_name="陈大海",
                owner_phone="13905951234", actor="demo",
            )  # fmt: skip
            terminal, secret = await terminal_admin.add_terminal(
                conn, clock, channel=CHANNEL, outlet=code, type=device, label=name, actor="demo"
            )
            secrets[code] = (terminal.id, secret)
            await terminal_admin.add_operator(
                conn, clock, channel=CHANNEL, outlet=code, code=operator, name=operator_name,
                actor="demo",
            )  # fmt: skip
        for code, amount in ((SHOP, 50000), (COLLECTOR, 20000)):
            await deposits.record_deposit(
                conn, clock, channel=CHANNEL, outlet=code, amount=amount,
                bank_reference=f"ICBC-DEMO-{code}", actor="ops-wang",
            )  # fmt: skip
        order = vouchers_issue.IssueOrder(BILLER, 1, VOUCHER_FACE, date(2027, 12, 31))
        await vouchers_issue.issue_batch(conn, clock, order, sink=pins.extend, actor="demo")
    await engine.dispose()
    j.console.print(
        f"\n[bold]The front line[/bold]: agent channel {CHANNEL} with the shop {SHOP} "
        f"(fixed POS) and the collector {COLLECTOR} (mobile POS); floats of 500.00 and "
        f"200.00 yuan deposited; one {VOUCHER_FACE // 100}-yuan voucher issued"
    )
    http = j.client.http
    ((serial, pin),) = pins
    return FrontLine(
        TerminalClient(http, CHANNEL, *secrets[SHOP]),
        TerminalClient(http, CHANNEL, *secrets[COLLECTOR]),
        pin,
        serial,
    )


async def _sell_voucher(url: URL, j: Journey, serial: str) -> None:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        await vouchers.activate(
            conn, SystemClock(), vouchers.Selection(first=serial),
            outlet=(CHANNEL, SHOP), actor="demo",
        )  # fmt: skip
    await engine.dispose()
    j.console.print(
        f"\n[bold]The shop sells voucher {serial}[/bold] (utilipay vouchers activate "
        f"--serial {serial} --outlet {CHANNEL}/{SHOP}): its float pays the face value"
    )


def _pay(order: str, account: str, amount: int, bill: str, **more: Any) -> dict[str, Any]:
    return {"order_id": order, "biller": BILLER, "account": account, "amount": amount,
            "bill_nos": [bill], "payer": f"counter-{account}", **more}  # fmt: skip


async def walk(j: Journey, url: URL) -> None:
    line = await set_up(url, j)
    shop = line.shop
    paid = await j.call(
        "At the shop's POS, 陈小红 takes 90.00 yuan in cash for 王五's bill",
        "POST", "/v1/payments", expect=201,
        request=shop.build("POST", "/v1/payments", json=_pay(
            "SHOP-20261206-0001", "0112000001", 9000, "V202611-0001",
            operator=SHOP_OPERATOR, tender="cash")),
    )  # fmt: skip
    await _print_receipt(j, shop, paid["id"])
    await _sell_voucher(url, j, line.serial)
    await j.call(
        "赵六's 350.00 yuan bill: the float cannot cover it, nothing is written",
        "POST", "/v1/payments", expect=409,
        request=shop.build("POST", "/v1/payments", json=_pay(
            "SHOP-20261206-0002", "0112000002", 35000, "V202611-0002",
            operator=SHOP_OPERATOR)),
    )  # fmt: skip
    wrong = await j.call(
        "孙七 pays 40.00 yuan at the counter…",
        "POST", "/v1/payments", expect=201,
        request=shop.build("POST", "/v1/payments", json=_pay(
            "SHOP-20261206-0003", "0112000003", 4000, "V202611-0003",
            operator=SHOP_OPERATOR)),
    )  # fmt: skip
    await j.call(
        "…another outlet cannot void it",
        "POST", f"/v1/payments/{wrong['id']}/void", expect=409,
        request=line.collector.build("POST", f"/v1/payments/{wrong['id']}/void", json={
            "operator": COLLECTOR_OPERATOR, "reason": "not ours"}),
    )  # fmt: skip
    await j.call(
        "…the shop voids it the same day (冲正): the bill is due again, the float given back",
        "POST", f"/v1/payments/{wrong['id']}/void", expect=200,
        request=shop.build("POST", f"/v1/payments/{wrong['id']}/void", json={
            "operator": SHOP_OPERATOR, "reason": "paid the neighbour's bill by mistake"}),
    )  # fmt: skip
    await _redeem(j, shop, line.pin)
    await _collect(j, line.collector)
    await _close_shifts(j, shop, line.collector)


async def _print_receipt(j: Journey, terminal: TerminalClient, payment_id: str) -> None:
    request = terminal.build("GET", f"/v1/payments/{payment_id}/receipt", params={"format": "text"})
    response = await terminal.send(request)
    j.step += 1
    j.console.print(f"\n[bold]{j.step}. The POS prints the receipt (58 mm)[/bold]")
    j.console.print(
        f"   GET {request.url.raw_path.decode()} → {response.status_code}", highlight=False
    )
    if response.status_code != 200:
        raise SystemExit(f"demo step {j.step} expected HTTP 200")
    j.console.print(response.text, highlight=False, markup=False)


async def _redeem(j: Journey, shop: TerminalClient, pin: str) -> None:
    body = {"order_id": "SHOP-20261206-V001", "pin": pin, "biller": BILLER,
            "account": "0112000004", "payer": "counter-0112000004"}  # fmt: skip
    await j.call(
        "周八 redeems the 100-yuan voucher at the shop: the 60.00 yuan bill is paid, 40.00 "
        "yuan stays as credit for the next bill",
        "POST", "/v1/vouchers/redeem", expect=201,
        request=shop.build("POST", "/v1/vouchers/redeem", json=body),
    )  # fmt: skip
    wrong = {**body, "order_id": "SHOP-20261206-V002", "pin": "0000000000000000"}
    await j.call(
        "A PIN that is no voucher: one answer for every bad PIN",
        "POST", "/v1/vouchers/redeem", expect=422,
        request=shop.build("POST", "/v1/vouchers/redeem", json=wrong),
    )  # fmt: skip


async def _collect(j: Journey, collector: TerminalClient) -> None:
    query = {"biller": BILLER, "account": "0112000005"}
    due = await j.call(
        "At 吴九's door the collector asks what is owed, late fee included",
        "GET", "/v1/bills", expect=200, request=collector.build("GET", "/v1/bills", params=query),
    )  # fmt: skip
    collected = SystemClock().now() - timedelta(hours=2)
    body = _pay("COLLECT-20261206-0001", "0112000005", due["total"], "V202610-0005",
                operator=COLLECTOR_OPERATOR, tender="cash",
                collected_at=to_shanghai_iso(collected))  # fmt: skip
    j.console.print(
        f"\n   (no signal in the hills: the POS kept the payment, cash taken at "
        f"{to_shanghai_iso(collected)}; back in coverage it sends it now)"
    )
    await j.call(
        "Store and forward: the payment collected two hours ago reaches the hub; its answer "
        "says it was forwarded, and the receipt shows both times",
        "POST", "/v1/payments", expect=201,
        request=collector.build("POST", "/v1/payments", json=body),
    )  # fmt: skip


async def _close_shifts(j: Journey, shop: TerminalClient, collector: TerminalClient) -> None:
    await j.call(
        "陈小红 closes her shift (日结轧账): 90.00 yuan in the drawer, as expected",
        "POST", "/v1/outlet/shifts/close", expect=200,
        request=shop.build("POST", "/v1/outlet/shifts/close", json={
            "operator": SHOP_OPERATOR, "counted_cash": 9000}),
    )  # fmt: skip
    await j.call(
        "王电工 hands over 31.00 yuan for 31.50 collected: the 0.50 short is recorded",
        "POST", "/v1/outlet/shifts/close", expect=200,
        request=collector.build("POST", "/v1/outlet/shifts/close", json={
            "operator": COLLECTOR_OPERATOR, "counted_cash": 3100}),
    )  # fmt: skip
    await j.call(
        "The shop's float and its day", "GET", "/v1/outlet", expect=200,
        request=shop.build("GET", "/v1/outlet"),
    )  # fmt: skip
