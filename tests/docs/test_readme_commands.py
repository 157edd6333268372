"""Every command the README lists works on the default install: the installed ``utilipay``,
in a subprocess, on the embedded PostgreSQL with no URL set, in a home of its own, with
realistic arguments. A traceback, or an exit code the README does not document, fails it;
so does a README command this file does not run. Adding a command is adding one line to
``STEPS`` (or to ``HEAVY``, for a benchmark-sized one)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.outlets.statements import Credit, mt940
from tests.readme_scenario import (
    Do,
    Run,
    Scenario,
    Start,
    Step,
    all_commands,
    command_path,
    readme_commands,
)
from utilipay.clock import SHANGHAI, SystemClock, business_date
from utilipay.web.server import free_port
from utilipay_tools.client import ChannelClient

DEMO_SECRET = "demo-wechat-secret-change-me"
RECON_DATA = Path(__file__).resolve().parents[1] / "data" / "recon"  # copies of ../shared/realdata
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "utilipay" / "tariffs" / "data"


async def _pay_all_due(scenario: Scenario, biller: str, account: str, order: str) -> Any:
    base = f"http://127.0.0.1:{scenario.values['api']}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        wechat = ChannelClient(http, "WECHAT", DEMO_SECRET)
        query = {"biller": biller, "account": account}
        for _ in range(10):  # the remote utility's simulator drops some replies
            found = (await wechat.call("GET", "/v1/bills", params=query)).json()
            if "bills" in found:
                break
        assert found.get("bills"), found
        bills = found["bills"]
        body = {"order_id": order, "biller": biller, "account": account, "payer": "wx-ops",
                "bill_nos": [b["bill_no"] for b in bills],
                "amount": sum(b["amount"] + b["late_fee"] for b in bills)}  # fmt: skip
        return (await wechat.call("POST", "/v1/payments", json=body)).json()


def pay_demo_bills(scenario: Scenario) -> None:
    """A wallet pays the demo's hosted water bills through the running server (the first
    payment's receipt is reprinted below)."""
    for n, account in enumerate(("0112345678", "2598765432")):
        paid = asyncio.run(_pay_all_due(scenario, "BJWATER", account, f"WX-OPS-{n}"))
        assert paid["status"] == "SUCCEEDED", paid
        scenario.values.setdefault("water_payment", paid["id"])


def pay_remote_bill(scenario: Scenario) -> None:
    """Payments to the remote utility until the simulator drops a charge's reply: that one
    stays PROCESSING."""
    for account in scenario.values["remote_accounts"].split(", "):
        paid = asyncio.run(_pay_all_due(scenario, "SHPOWER", account, f"WX-OPS-{account}"))
        if paid["status"] == "PROCESSING":
            scenario.values["remote_payment"] = paid["id"]
            return
    raise AssertionError("every charge was answered: no payment left PROCESSING")


def open_exception(scenario: Scenario) -> None:
    """What 24 hours of unanswered refunds would leave: the payment in the exceptions queue."""
    with psycopg.connect(**scenario.database()) as conn:
        conn.execute(
            "INSERT INTO payment_exceptions (biller_id, payment_id, reason, opened_at)"
            " SELECT biller_id, id, 'refund unanswered 8 times', now() FROM payments"
            " WHERE id = %s",
            (scenario.values["remote_payment"],),
        )


def scrape_metrics(scenario: Scenario) -> None:
    """Prometheus' scrape with the metrics:read token made above: its scope, and no other."""
    base = f"http://127.0.0.1:{scenario.values['api']}"
    auth = {"Authorization": f"Bearer {scenario.values['prometheus_token']}"}
    scraped = httpx.get(f"{base}/metrics", headers=auth, timeout=30)
    assert scraped.status_code == 200 and "utilipay_backlog_items" in scraped.text, scraped.text
    refused = httpx.get(f"{base}/admin/v1/exceptions", headers=auth, timeout=30)
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN"), refused.text


def stop_services(scenario: Scenario) -> None:
    scenario.stop_all()


STEPS: list[Step] = [
    Run("db status", expect="embedded PostgreSQL: stopped"),
    Run("tariffs quote BJ_ELEC_RES --usage 246 --json", expect='"total_fen": 12042'),
    Run("db upgrade", expect="database utilipay is at head"),
    Start("serve --host 127.0.0.1 --port {api} --workers 2 --demo --access-log", port="api",
          expect="listening on http://127.0.0.1:"),
    Start("biller-sim --port {biller_sim} --key-file {biller_key} --sign-type HMAC-SHA256 "
          "--faults drop_response=0.5 --accounts 3 --seed 7 --biller SHPOWER", port="biller_sim",
          capture={"remote_accounts": r"e\.g\. (\d+, \d+, \d+)"}),
    Start("channel-sim --secret-file {union_secret} --port {channel_sim} "
          "--outcomes card-6222=declined,*=success --timeout-delay 1", port="channel_sim"),
    Start("head-end-sim --secret-file {head_end_secret} --port {head_end_sim} --seed 3 "
          "--execute-after 1 --faults accept_only=0.5 --rejected-meters E-0404",
          port="head_end_sim"),
    Run("channels add UNIONPAY --secret-file {union_secret} --rate-limit 0 "
        "--webhook-url http://127.0.0.1:{channel_sim}/webhooks "
        "--debit-url http://127.0.0.1:{channel_sim}/debits", expect="channel UNIONPAY added"),
    Run("channels update UNIONPAY --rate-limit 100 --enable --reason go-live "
        "--cashier-url https://pay.unionpay.example/cashier "
        "--frame-ancestors https://m.unionpay.example", expect="channel UNIONPAY updated"),
    Run("channels launch-link --channel UNIONPAY --payer up-user-0001 --lang en "
        "--base-url https://hub.example.com", expect="https://hub.example.com/h5/launch?"),
    Run("channels list", expect="UNIONPAY"),
    Run("channels add AGENT1 --generate-secret --kind agent",
        expect="channel AGENT1 added (agent)"),
    Run("channels list --json", expect='"kind": "agent"'),
    Run("outlets add --channel AGENT1 --code SHOP-0001 --name 东村小卖部 --kind shop "
        "--region 泉州市南安市 --low-threshold 50000 --owner-name 陈大海 --owner-phone 13905951234",
        expect="deposit reference FLOAT-AGENT1-SHOP-0001"),
    Run("outlets update --channel AGENT1 --outlet SHOP-0001 --low-threshold 80000 "
        "--owner-email chen@example.cn --reason 'owner asked'", expect="outlet AGENT1.SHOP-0001"),
    Run("terminals add --channel AGENT1 --outlet SHOP-0001 --type pos_fixed --label 柜台POS",
        expect="shown only now"),
    Run("terminals list --channel AGENT1 --outlet SHOP-0001 --json",
        capture={"terminal": r'"id": "(T[0-9A-Z]+)"'}),
    Run("terminals rotate {terminal} --reason 'yearly rotation'", expect="rotated"),
    Run("terminals rotate {terminal} --drop-previous", expect="previous secret dropped"),
    Run("terminals revoke {terminal} --reason 'lost in the flood'", expect="revoked"),
    Run("operators add --channel AGENT1 --outlet SHOP-0001 --code 0001 --name 陈小红",
        expect="operator 0001"),
    Run("operators disable --channel AGENT1 --outlet SHOP-0001 --code 0001 --reason 'on leave'",
        expect="DISABLED"),
    Run("operators enable --channel AGENT1 --outlet SHOP-0001 --code 0001 --reason back",
        expect="ACTIVE"),
    Run("operators list --channel AGENT1 --outlet SHOP-0001 --json", expect='"陈小红"'),
    Run("outlets deposit --channel AGENT1 --outlet SHOP-0001 --amount 200000 "
        "--bank-reference ICBC20261122000417 --by ops-wang", expect="deposit of 2,000.00 yuan"),
    Run("recon import {float_sta}", expect="1 line(s) credited to outlets' floats"),
    Run("outlets match-deposits --json", expect='"already": 1'),
    Run("outlets list --channel AGENT1 --region 泉州市南安市 --json", expect='"balance": 230000'),
    Run("outlets show --channel AGENT1 --outlet SHOP-0001", expect="FLOAT-AGENT1-SHOP-0001"),
    Run("outlets suspend --channel AGENT1 --outlet SHOP-0001 --reason 'float audit'",
        expect="suspended"),
    Run("outlets resume --channel AGENT1 --outlet SHOP-0001 --reason 'audit done'",
        expect="resumed"),
    Run("outlets list --low", expect="no outlets"),
    Run("outlets statement --channel AGENT1 --outlet SHOP-0001 --date {today} --json",
        expect='"deposits": 230000'),
    Run("outlets statement --channel AGENT1 --outlet SHOP-0001 --date {today} --csv",
        expect="opening"),
    Run("outlets cash-differences --channel AGENT1 --outlet SHOP-0001 --since {today} --json",
        expect="[]"),
    Run("outlets figures --from {today} --to {today} --by outlet --channel AGENT1 --json",
        expect='"deposits": 230000'),
    Run("billers add BJWATER_DC --name 东城分公司 --category water --mode hosted "
        "--account-rule 0[1-9][0-9]+ --account-hint '10 digits' --region 110101 --parent BJWATER",
        expect="biller BJWATER_DC added (hosted)"),
    Run("billers add SHPOWER --name 上海电力 --category electricity --mode remote "
        "--account-rule 01[0-9]+ --url http://127.0.0.1:{biller_sim} --key-file {biller_key} "
        "--sign-type HMAC-SHA256 --confirm-schedule 5s,30s,2m,10m,30m --resolution-deadline 24h "
        "--connect-timeout 3s --total-timeout 10s --max-refund-attempts 8",
        expect="biller SHPOWER added (remote)"),
    Run("billers update SHPOWER --total-timeout 8s --autopay-default-cap 100000 "
        "--autopay-max-cap 500000 --autopay-poll-every 1d --debit-notice 2h --activate "
        "--reason go-live", expect="biller SHPOWER updated"),
    Run("billers update BJWATER_DC --verification holder_name --reason 'issue 14: landlords'",
        expect="biller BJWATER_DC updated"),
    Run("billers list", expect="holder_name"),
    Run("bills import {bills_csv}", expect="2 bills added"),
    Run("late-fees rules add --biller BJWATER_DC --from 2026-01-01 --to 2027-12-31 "
        "--daily-per-mille 1 --grace-days 5 --cap 5000 --cap 30% --basis calendar "
        "--class residential --reason 'price bureau notice'", expect="added"),
    Run("late-fees rules list --biller BJWATER_DC --json", expect='"daily_per_mille": "1.0000"'),
    Run("late-fees show --biller BJWATER_DC --bill DC-2 --on 2027-01-20 --json",
        expect='"late_fee": 79'),  # 3900 × 1‰ × (20 − 5) days = 58.5 → 59, + 20 imported
    Run("late-fees waive --biller BJWATER_DC --bill DC-2 --amount 10 --reason 'meter misread'",
        expect="late fee now"),
    Run("accounts update BJWATER_DC 0100000007 --phone 13800138000 --email li@example.cn "
        "--language zh-CN", expect="account BJWATER_DC/0100000007 updated"),
    Do(pay_demo_bills),
    Run("receipts show {water_payment}", expect="人民币",
        capture={"receipt_no": r"凭证号: (\S+)", "receipt_code": r"验证码: (\S+)"}),
    Run("receipts show {water_payment} --format pdf --out {tmp}/receipt.pdf",
        expect="receipt.pdf"),
    Run("receipts verify --receipt-no {receipt_no} --code {receipt_code}", expect="genuine"),
    Run("reports analysis --biller BJWATER --month 2026-11 --out {tmp}/analysis.pdf",
        expect="analysis.pdf"),
    Do(pay_remote_bill),
    Do(open_exception),
    Run("exceptions list", expect="refund unanswered 8 times"),
    Run("exceptions resolve 1 --outcome WRITTEN_OFF --reason 'SHPOWER confirmed by phone' "
        "--biller-serial SH-0001", expect="exception 1 resolved"),
    # early warning: BJWATER_DC's bills of this month are unpaid, so a target of 100 % fires
    Run("warnings kinds --json", expect='"kind": "account_arrears"'),
    Run("warnings rules defaults --biller BJWATER", expect="prepaid_in_arrears"),
    Run("warnings rules add --biller BJWATER --kind rate_below_target --param day=1 "
        "--param target_percent=90 --disabled", expect="day=1, target_percent=90, off"),
    Run("warnings rules list --biller BJWATER --json",
        capture={"rule": r'"id": (\d+), "biller_id": \d+, "kind": "rate_below_target", '
                         r'"params": \{"day": 1'}),
    Run("warnings rules update {rule} --param target_percent=100 --enable",
        expect="target_percent=100, on"),
    Run("warnings contacts --biller BJWATER --email ops@bjwater.example --sms 13800138000",
        expect="email ops@bjwater.example, sms 13800138000"),
    Run("warnings evaluate --biller BJWATER", expect="warnings opened"),
    Run("warnings list --biller BJWATER --open --json", expect='"kind": "rate_below_target"',
        capture={"warning": r'"id": (\d+), "biller_id": \d+, "rule_id"'}),
    Run("warnings ack {warning} --note 'the branch calls its payers'", expect="acknowledged by"),
    Run("warnings list --biller BJWATER", expect="warnings"),
    Run("warnings rules disable {rule}", expect="target_percent=100, off"),
    Start("worker --concurrency 2"),
    Run("autopay run --now {now}", expect="autopay as of"),
    Run("ledger balances", expect="ledger balances"),
    Run("statement BJWATER {yesterday} --out {tmp}/BJWATER_statement.txt", expect="lines, net"),
    Run("tariffs load", expect="0 version(s) added"),
    Run("tariffs load {shipped}/beijing-water.toml", expect="0 version(s) added, 1 unchanged"),
    Run("tariffs list", expect="BJ_WATER_RES"),
    Run("tariffs show BJ_ELEC_RES --on 2026-10-01", expect="BJ_ELEC_RES"),
    Run("billers add BJELEC --name 北京电力 --category electricity --mode hosted "
        "--account-rule 01[0-9]+", expect="biller BJELEC added"),
    Run("tariffs assign BJELEC --tariff BJ_ELEC_RES --from {installed} --class residential",
        expect="BJELEC residential pays BJ_ELEC_RES"),
    Run("readings import {meters_csv}", expect="imported"),
    Run("readings import {reads_csv} --biller BJELEC --json", expect='"ok": true'),
    Run("readings usage BJELEC 0100000001 --from {prev_start} --to {prev_end}",
        expect="total 246"),
    Run("billing due-days BJELEC 15", expect="due 15 days after"),
    Run("billing run BJELEC --period {prev_month} --as-of {month_start} --json",
        expect='"bills_issued": 1, "amount": 12042'),
    Run("billing show BJELEC M{prev_compact}-0100000001", expect="120.42"),
    Run("head-end set BJELEC --url http://127.0.0.1:{head_end_sim} --secret-file "
        "{head_end_secret} --connect-timeout 3s --total-timeout 10s --give-up-after 1h",
        expect="head-end of BJELEC"),
    Run("prepaid enroll BJELEC 0100000099 --reminder 2000 --from {three_days_ago}",
        expect="prepaid, balance 0.00 yuan"),
    Run("prepaid accrue --date {yesterday} --json", expect='"accounts": 1'),
    Run("prepaid cut --now {now}", expect="account(s) cut"),
    Run("prepaid statements --month {prev_month}", expect="statement(s) issued"),
    Run("prepaid show BJELEC 0100000099 --json", expect='"state": "ARREARS"'),
    Run("reminders defaults --biller BJWATER --days-before 5 --overdue-days 1,7,15 "
        "--reason 'collection policy 2027' --json", expect='"overdue_days": [1, 7, 15]'),
    Run("reminders set --biller BJWATER --account 0112345678 --kinds due_soon,overdue "
        "--means channel,sms --reason 'payer asked by phone'", expect="kinds=due_soon,overdue"),
    Run("reminders show --biller BJWATER --account 0112345678 --json",
        expect='"days_before": 5'),
    Run("head-end commands BJELEC --status EXECUTED --limit 100",
        expect="meter commands of BJELEC"),
    Run("recon import {wechat_trade} --kind wechat_trade --party-code WECHAT",
        expect="imported as #"),
    Run("recon run --date 2021-01-28 --channel WECHAT --cutoff 15 --json",
        capture={"run": r'"run_id": (\d+)'}),
    Run("recon keep-payments --date 2021-01-28 --json", expect='"fingerprint"'),
    Run("recon show --date 2021-01-28", expect="CHANNEL_ONLY"),
    Run("recon show {run} --json", expect="CHANNEL_ONLY"),
    Run("recon apply {run} --reason 'day-end review' --dry-run",
        expect="would leave it for a person"),
    Run("recon apply {run} --reason 'day-end review' --only EXCEPTION --json",
        expect='"corrections"'),
    Run("settle account BJWATER --account-no 6222000011112222 --name 北京自来水 --bank ICBC "
        "--mode branches", expect="BJWATER"),
    Run("settle fee biller BJWATER --from 2026-01-01 --rate-bp 6 --min 10 --max 500 --fixed 0",
        expect="BJWATER"),
    Run("settle fee channel WECHAT --from 2026-01-01 --rate-bp 2", expect="WECHAT"),
    Run("settle commission BJWATER --outlet-kind shop --from 2026-01-01 --rate-bp 30 --min 50 "
        "--max 500 --fixed 0", expect="commission for shop outlets"),
    Run("settle run --date {today} --biller BJWATER --hub-account 6222999988887777 "
        "--now {tomorrow_morning} --json", expect='"status": "SETTLED"'),
    Run("settle show --date {today} --biller BJWATER --json", expect='"payee": "BJWATER"'),
    Run("settle export --date {today} --biller BJWATER --format csv "
        "--out {tmp}/settlement.csv", expect="settlement.csv"),
    Run("reports collection --from {month_start} --to {today} --biller BJWATER --by channel "
        "--json", expect='"name": "collection"'),
    Run("reports aging --from {month_start} --to {today} --csv", expect="Days past due"),
    Run("reports channel-mix --from {today} --to {today} --xlsx --out {tmp}/mix.xlsx",
        expect="mix.xlsx"),
    Run("reports prepaid --from {month_start} --to {today} --json", expect='"name": "prepaid"'),
    Run("reports autopay --from {month_start} --to {today} --biller BJWATER",
        expect="Auto-pay"),
    Run("tokens create prometheus --scope metrics:read",
        capture={"prometheus_token": r"(upt_[A-Za-z0-9_-]+)"}),
    Do(scrape_metrics),
    Run("tokens create ops-li --scope ops:read --scope ops:write --expires 90d",
        expect="upt_"),
    Run("tokens list --json", expect='"ops-li"'),
    Run("tokens revoke ops-li --reason 'left the team'", expect="token of ops-li revoked"),
    Run("audit list --object api_token --json", expect='"ops-li"'),
    Run("users add ops-wang --role operations --generate-password", expect="user ops-wang"),
    Run("users add water-clerk --role utility_staff --biller BJWATER --generate-password",
        expect="user water-clerk"),
    Run("users list --json", expect='"water-clerk"'),
    Run("billers update BJELEC --prepaid-cut-grace 48h --prepaid-reward-points 10 "
        "--prepaid-reward-min 5000 --reason '2027 tariff notice'",
        expect="biller BJELEC updated"),
    Run("vouchers issue --biller BJWATER --count 1000 --face 10000 --expires 2027-12-31 "
        "--out {tmp}/vouchers.csv", expect="1000 vouchers of 100.00 yuan"),
    Run("vouchers activate --serial 00000100000001 --to-serial 00000100000500",
        expect="500 vouchers sold"),
    Run("vouchers void --serial 00000100001000 --reason 'card damaged in transit'",
        expect="1 vouchers voided"),
    Run("vouchers expire", expect="vouchers expired"),
    Run("vouchers list --biller BJWATER --json", expect='"ACTIVE": 500'),
    Run("check --json", expect='"ok": true'),
    Run("db status", expect="used by"),
    Run("db stop", exit_code=1, expect="hub processes use it"),
    Do(stop_services),
    # the last hub process has exited: the embedded server with it
    Run("db status", expect="embedded PostgreSQL: stopped"),
    Run("db stop", expect="embedded PostgreSQL: not running"),
]  # fmt: skip

# Benchmark-sized commands, run with tiny sizes; slow together (marked so).
HEAVY: list[Step] = [
    Run("demo", expect="ok each payee's settled account is its settlements' net"),
    Run("chaos --payments 20 --concurrency 4 --json", expect='"passed": true'),
    Run("bench payments --seconds 1 --rounds 1 --connections 4 --workers 1 "
        "--pgbench-clients 2 --outlets 20 --json", expect='"voucher": {'),
    Run("bench latency --rate 50 --seconds 1 --connections 4 --json",  # serve's processes
        expect='"p99_under_target"'),
    Run("bench terminals --seconds 1 --rounds 1 --connections 4 --workers 1 "
        "--pgbench-clients 2 --outlets 20 --json", expect='"books_balanced": true'),
    Run("bench capacity --payments 200 --json", expect='"valid": true'),
    Run("bench http --seconds 1 --rounds 1 --connections 4 --json", expect='"valid": true'),
    Run("bench autopay --mandates 50 --send-for 1 --processes 2 --json", expect='"processes": 2'),
    Run("bench prepaid --accounts 50 --json", expect='"accounts": 50'),
    Run("bench vouchers --vouchers 500 --redeem 50 --json", expect='"double_redemptions": 0'),
    Run("bench recon --rows 7000 --json", expect='"correct": true'),
    Run("bench recon-run --payments 7000 --rounds 1 --json", expect='"correct": true'),
    Run("bench console --payments 2000 --accounts 2000 --requests 20 --json",
        expect='"rollup_equals_recount": true'),
    Run("bench collection --accounts 2000 --json", expect='"accounts": 2000'),
    Run("bench history --payments 3000 --payers 20 --requests 20 --json", expect='"payers": 20'),
    Run("bench pages --accounts 2000 --requests 20 --json", expect='"fast_enough"'),
]  # fmt: skip


def test_the_readme_lists_every_command_and_the_scenario_runs_each() -> None:
    listed = readme_commands()
    ran = {command_path(step) for step in [*STEPS, *HEAVY]}
    assert sorted(set(listed) - ran) == [], "README commands this test does not run"
    assert sorted(all_commands() - set(listed)) == [], "commands the README does not list"
    assert all(path in all_commands() for path in listed), "README names a missing command"


def _values(tmp: Path) -> dict[str, str]:
    now = SystemClock().now().astimezone(SHANGHAI)
    today = business_date(now)
    month_start = today.replace(day=1)
    prev_start = (month_start - timedelta(days=1)).replace(day=1)
    return {
        "tmp": str(tmp), "shipped": str(SHIPPED), "now": now.isoformat(timespec="seconds"),
        "today": str(today), "yesterday": str(today - timedelta(days=1)),
        "tomorrow_morning": f"{today + timedelta(days=1)}T09:00:00+08:00",
        "three_days_ago": str(today - timedelta(days=3)), "month_start": str(month_start),
        "prev_start": str(prev_start), "prev_end": str(month_start - timedelta(days=1)),
        "prev_month": f"{prev_start:%Y-%m}", "prev_compact": f"{prev_start:%Y%m}",
        "installed": str(prev_start - timedelta(days=1)),
        "wechat_trade": str(RECON_DATA / "tradebill_ALL_v3_sample.csv"),
        **{name: str(free_port()) for name in ("api", "biller_sim", "channel_sim", "head_end_sim")},
    }  # fmt: skip


def _files(tmp: Path, values: dict[str, str]) -> None:
    def write(name: str, text: str, mode: int = 0o644) -> None:
        path = tmp / name
        path.write_text(text)
        path.chmod(mode)
        values[name.replace(".", "_").replace("-", "_")] = str(path)

    write("biller.key", "shpower-key-0123456789\n", 0o600)
    write("union.secret", "unionpay-secret-0123456789\n", 0o600)
    write("head-end.secret", "head-end-secret-0123456789\n", 0o600)
    header = "biller,account,holder,bill_no,period,amount,late_fee,due_date\n"
    write("bills.csv", header + "BJWATER_DC,0100000007,李明,DC-1,2026-10,4200,0,2026-12-31\n"
          "BJWATER_DC,0100000008,周芳,DC-2,2026-10,3900,20,2026-12-31\n")  # fmt: skip
    installed = f"{values['installed']}T00:00:00+08:00"
    write("meters.csv", "biller,account,holder,meter,service,unit,registers,digits,multiplier,"
          f"installed_at\nBJELEC,0100000001,张三,M1,electricity,kWh,total,6,1,{installed}\n"
          f"BJELEC,0100000099,王五,E-0099,electricity,kWh,total,6,1,{installed}\n")  # fmt: skip
    reads = ["biller,meter,register,read_at,value,quality"]
    reads += [f"BJELEC,M1,total,{values[d]}T00:00:00+08:00,{v},actual"
              for d, v in (("prev_start", 100), ("month_start", 346))]  # fmt: skip
    day = datetime.fromisoformat(values["three_days_ago"])
    reads += [f"BJELEC,E-0099,total,{day + timedelta(days=n):%Y-%m-%d}T00:00:00+08:00,"
              f"{500 + 30 * n},actual" for n in range(4)]  # fmt: skip
    write("reads.csv", "\n".join(reads) + "\n")
    transfer = Credit("BK20261122000518", 30_000, "FLOAT-AGENT1-SHOP-0001 陈大海 预存款")
    write("float.sta", mt940([transfer]).decode())


@pytest.fixture
def scenario(server_tmp_path: Path) -> Scenario:
    values = _values(server_tmp_path)
    _files(server_tmp_path, values)
    return Scenario(server_tmp_path / "home", values)


def test_every_readme_command_runs_on_the_embedded_default(scenario: Scenario) -> None:
    scenario.run_all(STEPS)
    timings = sorted(scenario.ran, key=lambda r: -r[2])[:5]
    print("slowest:", ", ".join(f"{' '.join(p or ('(do)',))} {s:.1f} s" for p, _, s in timings))


@pytest.mark.slow
def test_every_benchmark_sized_readme_command_runs_small(scenario: Scenario) -> None:
    scenario.run_all(HEAVY)
