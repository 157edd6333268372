"""``utilipay tariffs …`` and ``utilipay prepaid …``: an operator replays days from the shell."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import URL
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke, sql  # noqa: F401 (the cli fixture)
from tests.conftest import WATER_RULE
from tests.readings.test_readings_reads import METERS_HEADER

ACCOUNT = "0100000001"


def test_a_quote_prints_the_charge_band_by_band(cli: CliRunner) -> None:  # noqa: F811
    assert invoke(cli, "tariffs", "load").exit_code == 0
    listed = invoke(cli, "tariffs", "list")
    assert "BJ_ELEC_RES" in listed.stdout and "BJ_WATER_RES" in listed.stdout
    quoted = invoke(cli, "tariffs", "quote", "BJ_ELEC_RES", "--usage", "246", "--json")
    assert quoted.exit_code == 0, quoted.output
    answer = json.loads(quoted.stdout)
    assert answer["total_fen"] == 12042
    assert [(b["units"], b["price"]) for b in answer["bands"]] == [
        ("240.000", "0.4883"), ("6.000", "0.5383")
    ]  # fmt: skip
    water = json.loads(
        invoke(cli, "tariffs", "quote", "BJ_WATER_RES", "--usage", "270", "--json").stdout
    )
    assert water["total_fen"] == (180 * 5 + 80 * 7 + 10 * 9) * 100
    bad = invoke(cli, "tariffs", "quote", "BJ_ELEC_RES", "--usage", "-3")
    assert bad.exit_code != 0 and "must be a number" in bad.output
    unknown = invoke(cli, "tariffs", "quote", "NO_SUCH", "--usage", "3")
    assert unknown.exit_code == 1 and "NO_SUCH" in unknown.output


def test_enroll_accrue_show_statements_and_cut_as_of_a_day(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
    tmp_path: Path,
) -> None:
    invoke(cli, "billers", "add", "BJPOWER", "--name", "国网北京电力", "--category",
           "electricity", "--mode", "hosted", "--account-rule", WATER_RULE)  # fmt: skip
    invoke(cli, "tariffs", "load")
    assigned = invoke(cli, "tariffs", "assign", "BJPOWER", "--tariff", "BJ_ELEC_RES",
                      "--class", "residential", "--from", "2026-01-01")  # fmt: skip
    assert assigned.exit_code == 0, assigned.output
    sql(
        db_url,
        "INSERT INTO customer_accounts (biller_id, account_no, holder_name, address, created_at,"
        f" language) SELECT id, '{ACCOUNT}', '赵六', '', now(), 'zh-CN' FROM billers"
        " WHERE code = 'BJPOWER'",
    )
    unmetered = invoke(cli, "prepaid", "enroll", "BJPOWER", ACCOUNT, "--from", "2026-10-30")
    assert unmetered.exit_code == 1 and "no meter in service on 2026-10-30" in unmetered.output
    meters = tmp_path / "meters.csv"
    meters.write_text(f"{METERS_HEADER}\nBJPOWER,{ACCOUNT},赵六,M1,electricity,kWh,total,6,1,"
                      "2026-01-01T00:00:00+08:00,\n")  # fmt: skip
    assert invoke(cli, "readings", "import", str(meters)).exit_code == 0
    sql(
        db_url,
        "INSERT INTO daily_usage (biller_id, account_no, day, register, quantity, estimated)"
        f" SELECT id, '{ACCOUNT}', d::date, 'total', 8, false FROM billers,"
        " generate_series('2026-10-30'::date, '2026-11-02'::date, '1 day') d"
        " WHERE code = 'BJPOWER'",
    )
    enrolled = invoke(cli, "prepaid", "enroll", "BJPOWER", ACCOUNT, "--from", "2026-10-30")
    assert enrolled.exit_code == 0, enrolled.output
    accrued = invoke(
        cli, "prepaid", "accrue", "--date", "2026-11-01", "--now", "2026-11-02T08:00:00+08:00",
        "--json",
    )  # fmt: skip
    assert accrued.exit_code == 0, accrued.output
    days = json.loads(accrued.stdout)
    assert [(d["day"], d["accounts"], d["posted"]) for d in days] == [
        ("2026-10-30", 1, 391), ("2026-10-31", 1, 390), ("2026-11-01", 1, 391)
    ]  # fmt: skip
    shown = json.loads(invoke(cli, "prepaid", "show", "BJPOWER", ACCOUNT, "--json").stdout)
    assert (shown["balance"], shown["state"], shown["settled_through"]) == (
        -1172, "ARREARS", "2026-11-01"
    )  # fmt: skip
    issued = invoke(cli, "prepaid", "statements", "--month", "2026-10")
    assert "1 statement(s) issued for 2026-10" in issued.stdout
    # warned on 2 November at 08:00 (the first charge): not cut on the 2nd, a working day,
    # before the grace is over; not on Saturday; Monday morning, the grace long over: cut
    sql(db_url, "UPDATE prepaid_accounts SET state_since = '2026-11-01T00:00:00Z'")
    early = invoke(cli, "prepaid", "cut", "--now", "2026-11-02T16:00:00+08:00")
    assert early.stdout.startswith("0 account(s) cut")
    assert "1 account(s) in arrears past the grace not cut" in early.stdout
    saturday = invoke(cli, "prepaid", "cut", "--now", "2026-11-07T10:00:00+08:00")
    assert saturday.stdout.startswith("0 account(s) cut")
    monday = invoke(cli, "prepaid", "cut", "--now", "2026-11-09T10:00:00+08:00")
    assert monday.stdout.startswith("1 account(s) cut")
    missing = invoke(cli, "prepaid", "show", "BJPOWER", "0100000002")
    assert missing.exit_code == 1 and "not prepaid" in missing.output
