"""Function and trigger bodies live once, in the areas' SQL files, and the upgrade applies
them: a database upgraded from an older revision ends identical to one built fresh."""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import URL

from utilipay.db.embedded import embedded_bin
from utilipay.db.engine import drop_database
from utilipay.db.migrate import downgrade
from utilipay.migrations.repeatable import sql_files
from utilipay.runtime.install import upgrade

NOW = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
# procrastinate's own functions and triggers come with its schema (migration 0004), as the
# pinned version ships them: not the hub's
THEIRS = "procrastinate%"


def _sync(url: URL) -> Engine:
    return create_engine(url.set(drivername="postgresql+psycopg"), poolclass=pool.NullPool)


@pytest.fixture
def scratch(db_url: URL, request: pytest.FixtureRequest) -> Iterator[URL]:
    url = db_url.set(database=f"utilipay_{request.node.name[5:25]}_{os.getpid()}")
    asyncio.run(drop_database(url))
    yield url
    asyncio.run(drop_database(url))


def schema_of(url: URL) -> list[str]:
    """The whole schema as ``pg_dump --schema-only`` writes it (the connection goes by
    environment, never argv: a password stays out of the process list)."""
    host = url.host or url.query.get("host")
    env = {**os.environ, "PGHOST": str(host), "PGDATABASE": str(url.database)}
    env |= {k: str(v) for k, v in (("PGPORT", url.port), ("PGUSER", url.username),
                                   ("PGPASSWORD", url.password)) if v}  # fmt: skip
    dumped = subprocess.run(  # noqa: S603 (the embedded distribution's pg_dump)
        [str(embedded_bin("pg_dump")), "--schema-only", "--no-owner"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # \restrict carries a random key per dump
    return [line for line in dumped.splitlines() if not line.startswith(("\\restrict", "\\unr"))]


def assert_same_schema(expected: URL, actual: URL) -> None:
    diff = list(difflib.unified_diff(schema_of(expected), schema_of(actual), lineterm=""))
    assert diff == [], "\n".join(diff[:200])


def definitions(url: URL) -> dict[str, str]:
    """Every function and trigger of the hub as PostgreSQL prints it back."""
    engine = _sync(url)
    with engine.connect() as conn:
        found = conn.execute(text(
            "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p"
            " WHERE p.pronamespace = current_schema()::regnamespace AND p.proname NOT LIKE :theirs"
            " UNION ALL"
            " SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t"
            "  JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
            "   AND c.relname NOT LIKE :theirs"
        ), {"theirs": THEIRS}).all()  # fmt: skip
    engine.dispose()
    return {name: definition for name, definition in found}


def _seed(engine: Engine) -> dict[str, int]:
    """A channel, a hosted biller with their ledger accounts, and two bills, as revisions
    0017 to 0024 keep them."""
    with engine.begin() as conn:

        def one(sql: str, **values: object) -> int:
            return int(conn.execute(text(sql), {"now": NOW, **values}).scalar_one())

        channel = one(
            "INSERT INTO channels (code, name, secret, created_at)"
            " VALUES ('WECHAT', 'w', 'old-secret-0123456789', :now) RETURNING id"
        )
        biller = one(
            "INSERT INTO billers (code, name, category, account_rule, mode, created_at)"
            " VALUES ('BJWATER', 'b', 'water', '.*', 'hosted', :now) RETURNING id"
        )
        accounts = {
            kind: one("INSERT INTO ledger_accounts (code, kind, biller_id, channel_id, created_at)"
                      " VALUES (:code, :kind, :b, :c, :now) RETURNING id",
                      code=f"{kind}:{owner}:CNY", kind=kind, b=b, c=c)
            for kind, owner, b, c in (("CHANNEL_RECEIVABLE", "WECHAT", None, channel),
                                      ("BILLER_PAYABLE", "BJWATER", biller, None))
        }  # fmt: skip
        for statement in (
            "INSERT INTO customer_accounts (biller_id, account_no, holder_name, created_at)"
            " VALUES (:b, '0112345678', 'z', :now)",
            "INSERT INTO bills (biller_id, bill_no, account_no, period, amount, due_date,"
            " issued_at) VALUES (:b, 'B1', '0112345678', '2026-10', 12345, '2026-12-01', :now),"
            " (:b, 'B2', '0112345678', '2026-11', 12345, '2026-12-31', :now)",
        ):
            conn.execute(text(statement), {"b": biller, "now": NOW})
    return {"channel": channel, "biller": biller, **accounts}


def _pay(engine: Engine, seeded: dict[str, int], payment: str, order: str, bill: str) -> str:
    with engine.begin() as conn:
        return str(conn.execute(
            text("SELECT outcome FROM pay_hosted(:id, :c, NULL, :order, '\\x00', :b, '0112345678',"
                 " 12345, ARRAY[:bill], 'payer', :now, 'R', :r, :p)"),
            {"id": payment, "order": order, "bill": bill, "c": seeded["channel"],
             "b": seeded["biller"], "now": NOW, "r": seeded["CHANNEL_RECEIVABLE"],
             "p": seeded["BILLER_PAYABLE"]},
        ).scalar_one())  # fmt: skip


@pytest.mark.parametrize("revision", ["0017", "0024"])
def test_a_database_upgraded_from_an_older_revision_is_the_fresh_one_and_pays(
    db_url: URL, scratch: URL, revision: str
) -> None:
    """0024 is the last revision before the files: the upgrade a running hub makes."""
    upgrade(scratch, revision)
    engine = _sync(scratch)
    seeded = _seed(engine)
    paid_before = _pay(engine, seeded, "P1", "O1", "B1")
    upgrade(scratch)
    assert_same_schema(db_url, scratch)  # the session's database was built from nothing
    assert definitions(scratch) == definitions(db_url)
    outcomes = [
        paid_before,
        _pay(engine, seeded, "P2", "O2", "B2"),
        _pay(engine, seeded, "P3", "O1", "B2"),  # O1 again: the payment made before
    ]
    with engine.connect() as conn:
        booked = conn.execute(
            text("SELECT e.payment_id, p.line_no, p.account_id, p.amount FROM journal_entries e"
                 " JOIN postings p ON p.entry_id = e.id WHERE e.kind = 'PAYMENT'"
                 " ORDER BY e.id, p.line_no")
        ).all()  # fmt: skip
        # the payment made before the upgrade counted by migration 0028, the next by the
        # trigger
        counted = conn.execute(
            text("SELECT status, sum(payments), sum(amount) FROM payment_rollups GROUP BY 1")
        ).all()
    engine.dispose()
    receivable, payable = seeded["CHANNEL_RECEIVABLE"], seeded["BILLER_PAYABLE"]
    assert outcomes == ["CREATED", "CREATED", "EXISTING"]
    assert [tuple(r) for r in counted] == [("SUCCEEDED", 2, 2 * 12345)]
    assert [tuple(r) for r in booked] == [
        ("P1", 1, receivable, 12345), ("P1", 2, payable, -12345),
        ("P2", 1, receivable, 12345), ("P2", 2, payable, -12345),
    ]  # fmt: skip


OLDER = (
    ("tariff_to_fen", "exact numeric", "bigint"),
    ("prepaid_next_state", "state text, balance bigint, reminder bigint", "text"),
)


def test_a_changed_file_is_applied_again_and_an_unchanged_one_is_left_alone(
    scratch: URL,
) -> None:
    upgrade(scratch)
    engine = _sync(scratch)
    body = "SELECT prosrc FROM pg_proc WHERE proname = :f"
    with engine.begin() as conn:
        shipped = conn.execute(text(body), {"f": "tariff_to_fen"}).scalar_one()
        for function, args, returns in OLDER:  # as an older file had them
            conn.execute(
                text(
                    f"CREATE OR REPLACE FUNCTION {function}({args}) RETURNS {returns}"
                    f" LANGUAGE sql AS 'SELECT NULL::{returns}'"
                )
            )
        # the calculator's file changed since (its recorded checksum is another's)
        conn.execute(
            text("UPDATE schema_repeatables SET sha256 = 'older' WHERE path = :p"),
            {"p": "tariffs/calculator.sql"},
        )
    upgrade(scratch)
    with engine.connect() as conn:
        again = conn.execute(text(body), {"f": "tariff_to_fen"}).scalar_one()
        untouched = conn.execute(text(body), {"f": "prepaid_next_state"}).scalar_one()
        recorded = conn.execute(
            text("SELECT sha256 FROM schema_repeatables WHERE path = 'tariffs/calculator.sql'")
        ).scalar_one()
    engine.dispose()
    calculator = next(f for f in sql_files() if f.path == "tariffs/calculator.sql")
    assert (again, recorded) == (shipped, calculator.sha256)
    assert untouched == "SELECT NULL::text"  # its file did not change: not applied again


@pytest.mark.parametrize("revision", ["0024", "0021"])
def test_downgrading_below_the_repeatable_sql_gives_back_the_revision_built_fresh(
    db_url: URL, scratch: URL, revision: str
) -> None:
    upgrade(scratch)
    downgrade(scratch, revision)
    built = db_url.set(database=f"utilipay_at_{revision}_{os.getpid()}")
    asyncio.run(drop_database(built))
    try:
        upgrade(built, revision)
        assert_same_schema(built, scratch)
    finally:
        asyncio.run(drop_database(built))


# The functions the files changed from revision 0024 (main's rules before the files), with
# what each now calls or reads instead of writing the ledger, a payment and its order claim,
# or another area's tables itself; and the functions the files added.
CHANGED_SINCE_0024 = {
    # a batch of one since issue 15 (pay_hosted_many writes through the owners)
    "pay_hosted": ("pay_hosted_many(",),
    "prepaid_top_up": ("ledger_post_top_up(", "hosted_payment_write(", "prepaid_credit(",
                       "outlet_float_take(", "outlet_payment_taken("),
    # a terminal's payments: their floats locked before any bill (revision 0031)
    "pay_hosted_batch": ("outlet_floats_lock(", "pay_hosted_many(", "payments_counted("),
    "debit_event": ("billers_directory",),
    # a terminal's void (0030) may follow SUCCEEDED
    "payments_guard_transition": ("VOIDED", "VOID_PENDING"),
}  # fmt: skip
ADDED_SINCE_0024 = {
    "ledger_post", "ledger_post_payment", "ledger_post_top_up", "ledger_post_accrual",
    "ledger_account", "ledger_account_code", "hosted_payment_write", "pay_hosted_refusal",
    "channel_nonce_use", "billing_write_off", "payments_rollup_inserted",
    "payments_rollup_updated", "payments_rollup_deleted", "payment_rollups_fold",
    "payments.payments_rollup_inserted", "payments.payments_rollup_updated",
    "payments.payments_rollup_deleted", "ledger_post_float_deposit", "ledger_post_payment_void",
    "billing_undo_write_off",
    # the vouchers (0030), and the balance credit prepaid_top_up shares with a redemption
    "prepaid_credit", "ledger_post_voucher_sale",
    "ledger_post_voucher_credit_use", "ledger_post_voucher_breakage",
    "voucher_repeat", "voucher_failed", "vouchers_use_credit", "vouchers_bills_covered",
    "vouchers_credit_new_bills",
    "voucher_payable_movements", "bills.bills_use_voucher_credit",
    # the outlets' floats (revision 0031)
    "outlet_floats_lock", "outlet_float_reserve", "outlet_float_take", "outlet_payment_record",
    "outlet_payment_taken", "outlet_payment_settle", "outlet_low_float", "outlet_refund_due",
    "outlets_announce_change", "terminals.terminals_announced",
    "outlet_operators.outlet_operators_announced", "outlets.outlets_announced",
    # the prepaid account locked for a credit, which a redemption shares (revision 0036)
    "prepaid_account_locked",
    # the payments counted per minute for the anomaly monitoring (revision 0037)
    "payment_latency_ms", "payments_minutes_inserted", "payments_minutes_updated",
    "payments_minutes_deleted", "payment_minutes_fold", "payments.payments_minutes_inserted",
    "payments.payments_minutes_updated", "payments.payments_minutes_deleted",
    # late fees computed, and the working days they may count (revision 0039)
    "bill_late_fee", "bill_late_fee_of", "late_fee_rule_for", "late_fee_days",
    # the fee of many bills at once (revision 0043, which dropped late_fee_accrued)
    "bill_late_fees",
    "calendar_working_days",
    # a hosted batch counts its payments once (issue 15), with the functions the triggers use
    "payment_rollups_add", "payment_minutes_add",
    # a hosted batch written set-wise (issue 15): pay_hosted is a batch of one
    "pay_hosted_many", "pay_hosted_distinct", "pay_hosted_prepare", "hosted_payments_write",
    "ledger_post_payments", "billing_write_off_many", "channel_nonces_use",
    "pay_hosted_bills_locked", "pay_hosted_float_take",
    # redemptions in batches (issue 15), counting their payments as a hosted batch does
    "voucher_redeem_batch", "payments_count_later", "payments_counted",
    # redemptions written set-wise (issue 15, revision 0053, which dropped voucher_redeem
    # and ledger_post_voucher_redemption)
    "voucher_redeem_many", "voucher_refusal", "voucher_braked", "voucher_brake_keys",
    "vouchers_bills_covered_many", "ledger_post_voucher_redemptions", "prepaid_accounts_locked",
    # the two statements of a batch's entries, which payments and redemptions share
    "ledger_post_payment_entries",
    # an account's unpaid bills locked before its credit (redemptions and bill imports)
    "vouchers_bills_locked",
}  # fmt: skip
DIRECT_WRITES = re.compile(
    r"INSERT INTO (journal_entries|postings|payments|payment_orders|channel_nonces|outbox_events)"
    r"\b|UPDATE bills\b"
)


def test_the_files_keep_revision_0024s_rules_and_go_through_the_owners(
    db_url: URL, scratch: URL
) -> None:
    """Every function and trigger 0024 left (0022's order claims in pay_hosted and
    prepaid_top_up, order_payment…) is the files' but three: the two that wrote the ledger,
    the payment, its order claim, the nonce, the bills and the event themselves, which now
    call the functions of the owners (or write through their views), and debit_event, which
    reads the billers through their view."""
    upgrade(scratch, "0024")
    at_0024, at_head = definitions(scratch), definitions(db_url)
    assert set(at_head) - set(at_0024) == ADDED_SINCE_0024
    assert set(at_0024) <= set(at_head)
    changed = {name for name, definition in at_0024.items() if at_head[name] != definition}
    assert changed == set(CHANGED_SINCE_0024)
    for function, uses in CHANGED_SINCE_0024.items():
        assert not DIRECT_WRITES.search(at_head[function]), at_head[function]
        assert all(name in at_head[function] for name in uses), uses
    assert all(DIRECT_WRITES.search(at_0024[f]) for f in ("pay_hosted", "prepaid_top_up"))


DEFINES = re.compile(
    r"CREATE OR REPLACE (?:FUNCTION (?P<function>\w+)\s*\((?P<rest>.*?)\$\$(?P<body>.*?)\$\$"
    r"|TRIGGER (?P<trigger>\w+)\s.*?\sON (?P<table>\w+))",
    re.DOTALL,
)


def test_every_function_and_trigger_has_its_source_in_one_sql_file(db_url: URL) -> None:
    functions: dict[str, str] = {}  # name: body
    defined = Counter[str]()
    triggers = set()
    for sql in sql_files():
        for found in DEFINES.finditer(sql.text):
            if found["function"]:
                functions[found["function"]] = found["body"]
                defined[found["function"]] += 1
            else:
                triggers.add((found["table"], found["trigger"]))
                defined[f"{found['table']}.{found['trigger']}"] += 1
    assert [name for name, n in defined.items() if n > 1] == []
    engine = _sync(db_url)
    with engine.connect() as conn:
        in_database: dict[str, str] = dict(conn.execute(text(
            "SELECT p.proname, p.prosrc FROM pg_proc p"
            "  JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = current_schema()"
            " WHERE p.proname NOT LIKE :theirs"
        ), {"theirs": THEIRS}).all())  # fmt: skip
        fired = set(conn.execute(text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            "  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
            " WHERE NOT t.tgisinternal AND c.relname NOT LIKE :theirs"
        ), {"theirs": THEIRS}).all())  # fmt: skip
        overloaded = conn.execute(text(
            "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
            " GROUP BY proname HAVING count(*) > 1"
        )).all()  # fmt: skip
    engine.dispose()
    assert overloaded == []  # a name is one function: a file's CREATE OR REPLACE is it
    assert in_database == functions  # every body, as its file has it
    assert {tuple(t) for t in fired} == triggers
