"""Migrations build the schema (never ``create_all``), undo cleanly, and match the code's tables."""

from __future__ import annotations

import asyncio
import importlib
import os
from datetime import date
from types import ModuleType

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, create_engine, inspect, pool, text
from sqlalchemy.engine import URL

from utilipay.collection import tables as collection_tables
from utilipay.db.engine import drop_database
from utilipay.db.migrate import downgrade
from utilipay.migrations.schema import metadata
from utilipay.migrations.tables import schema_repeatables
from utilipay.outlets import tables as outlets_tables
from utilipay.receipts import tables as receipts_tables
from utilipay.runtime.books import BOOKS
from utilipay.runtime.install import upgrade
from utilipay.security.sealing import PREFIX, unseal
from utilipay.tariffs.service import LoadReport
from utilipay.vouchers import tables as vouchers_tables
from utilipay.warnings import tables as warnings_tables

# The views each area publishes for the others (its module name starts with a digit).
AREA_VIEWS = importlib.import_module("utilipay.migrations.versions.0024_area_views")
COLLECTION_DAYS = importlib.import_module("utilipay.migrations.versions.0038_collection_days")
# published by areas after revision 0024's: recon's bank credit lines for the outlets'
# deposits (0032), the outlets' commission (0033), recon's reconciled days (0034, for the
# terminal's void), the payments booked on an outlet's float and the standing voids (0036)
LATER_VIEWS = {"recon_bank_credits", "settlement_outlet_commissions", "recon_reconciled_days",
               "outlets_payment_accounts", "outlets_standing_voids",
               *COLLECTION_DAYS.VIEWS}  # fmt: skip


def _tables_of(module: ModuleType) -> set[str]:
    return {value.name for value in vars(module).values() if isinstance(value, Table)}


def _sync(url: URL) -> URL:
    return url.set(drivername="postgresql+psycopg")


def test_the_code_tables_match_the_migrated_schema(db_url: URL) -> None:
    engine = create_engine(_sync(db_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        changes = []
        for d in compare_metadata(context, metadata):
            changes.extend(d if isinstance(d, list) else [d])  # column changes come in lists
        # indexes, checks and triggers live in the migrations only
        diff = [
            c
            for c in changes
            if c[0] not in {"add_index", "remove_index"}
            # procrastinate's tables are its own (migration 0004 installs them)
            and not (c[0] == "remove_table" and c[1].name.startswith("procrastinate"))
        ]
    engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade(db_url: URL) -> None:
    scratch = db_url.set(database=f"utilipay_migrations_{os.getpid()}")
    asyncio.run(drop_database(scratch))
    try:
        upgrade(scratch)
        engine = create_engine(_sync(scratch), poolclass=pool.NullPool)
        assert "payments" in inspect(engine).get_table_names()
        assert set(inspect(engine).get_view_names()) == {*AREA_VIEWS.VIEWS, *LATER_VIEWS}
        # the views go (with the record of the SQL files, which came after them), every
        # area's table stays
        downgrade(scratch, AREA_VIEWS.down_revision)
        assert inspect(engine).get_view_names() == []
        # (the staff tables of 0026, the rollups of 0028, the front line's tables of 0029 and
        # the vouchers' of 0030, the receipts' key, the late fees' of 0039, collection's days
        # and the warnings' of 0042, later than the views, go with it)
        later = (
            _tables_of(outlets_tables)
            | _tables_of(vouchers_tables)
            | _tables_of(receipts_tables)
            | _tables_of(collection_tables)
            | _tables_of(warnings_tables)
            | {
                schema_repeatables.name,
                "staff_users",
                "staff_sessions",
                "staff_approvals",
                "staff_jobs",
                "payment_rollups",
                "payment_minutes",
                "outlet_commission_rules",
                "settlement_commissions",
                "late_fee_rules",
                "late_fee_waivers",
                # the reminders' of 0040
                "reminder_choices",
                "reminder_defaults",
                "overdue_notices",
                "collection_analyses",  # 0041
                "binding_challenges",  # 0045
                "binding_failures",
                "enrolments",  # 0047
                "payer_sessions",  # 0048
                "payer_orders",
                "payer_signups",  # 0049
                "recon_payment_files",  # 0052
            }
        )
        areas = set(metadata.tables) - later
        assert areas <= set(inspect(engine).get_table_names())
        downgrade(scratch, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(scratch)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        assert set(inspect(engine).get_view_names()) == {*AREA_VIEWS.VIEWS, *LATER_VIEWS}
        engine.dispose()
    finally:
        asyncio.run(drop_database(scratch))


def test_the_upgrade_loads_the_shipped_tariffs_and_their_new_versions(db_url: URL) -> None:
    scratch = db_url.set(database=f"utilipay_shipped_{os.getpid()}")
    asyncio.run(drop_database(scratch))
    versions = "SELECT tariff_code, effective_from FROM tariff_versions ORDER BY 1, 2"
    try:
        first = upgrade(scratch)
        assert first is not None
        engine = create_engine(_sync(scratch), poolclass=pool.NullPool)
        with engine.connect() as conn:
            loaded = [(code, day) for code, day in conn.execute(text(versions))]
        assert {code for code, _ in loaded} == {"BJ_ELEC_RES", "BJ_ELEC_RES_YEAR", "BJ_WATER_RES"}
        assert sorted(first.added) == [tuple(row) for row in loaded]
        again = upgrade(scratch)
        assert again is not None and (again.added, len(again.unchanged)) == ([], len(loaded))
        # A version shipped after the database was made: the next upgrade adds it.
        newest = loaded[-1]
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # immutable rows
            where = "tariff_code = :c AND effective_from = :d"
            conn.execute(
                text(f"DELETE FROM tariff_blocks WHERE version_id IN "
                     f"(SELECT id FROM tariff_versions WHERE {where})"),
                {"c": newest[0], "d": newest[1]},
            )  # fmt: skip
            conn.execute(
                text(f"DELETE FROM tariff_versions WHERE {where}"), {"c": newest[0], "d": newest[1]}
            )
        assert upgrade(scratch) == LoadReport(added=[tuple(newest)], unchanged=loaded[:-1])
        with engine.connect() as conn:
            audited = conn.execute(
                text("SELECT DISTINCT actor FROM audit_log WHERE action = 'tariff.version_loaded'")
            ).all()
        assert audited == [("utilipay db upgrade",)]
        engine.dispose()
    finally:
        asyncio.run(drop_database(scratch))


def test_secrets_stored_before_sealing_are_sealed_by_the_upgrade(db_url: URL) -> None:
    scratch = db_url.set(database=f"utilipay_sealing_{os.getpid()}")
    asyncio.run(drop_database(scratch))
    try:
        upgrade(scratch, "0016")
        engine = create_engine(_sync(scratch), poolclass=pool.NullPool)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO channels (code, name, secret, previous_secret, created_at)"
                    " VALUES ('OLD', 'old', 'plain-secret-0123456789', NULL, now())"
                )
            )
        upgrade(scratch)
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT secret FROM channels")).scalar_one()
        assert raw.startswith(PREFIX) and unseal(raw) == "plain-secret-0123456789"
        downgrade(scratch, "0016")
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT secret FROM channels")).scalar_one()
        assert raw == "plain-secret-0123456789"
        engine.dispose()
    finally:
        asyncio.run(drop_database(scratch))


# At 0021: two billers (a group, 1, and its branch, 2) paid on one channel, the group's
# settlement with its branch's line and payout, a prepaid account, a bill claimed twice.
BEFORE_KEYS = (
    "INSERT INTO channels (code, name, secret, created_at)"
    " VALUES ('WECHAT', 'w', 'plain-secret-0123456789', now())",
    "INSERT INTO billers (code, name, category, account_rule, mode, parent_id, created_at)"
    " VALUES ('GROUP', 'g', 'water', '.*', 'hosted', NULL, now()),"
    " ('BRANCH', 'b', 'water', '.*', 'hosted', 1, now())",
    "INSERT INTO customer_accounts (biller_id, account_no, holder_name, created_at)"
    " VALUES (2, 'A1', 'h', now())",
    "INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,"
    " amount, bill_nos, status, created_at, resolution)"
    " VALUES (1, 'P1', 1, 'O1', '\\x00', 'p', 'A1', 100, '{B1}', 'PROCESSING', now(), 'CHARGING'),"
    " (2, 'P2', 1, 'O2', '\\x00', 'p', 'A1', 200, '{B2}', 'PROCESSING', now(), 'CHARGING')",
    "INSERT INTO bill_claims VALUES (2, 'B2', 'P0', now() - interval '1 day', now()),"
    " (2, 'B2', 'P2', now(), NULL)",
    "INSERT INTO settlements (biller_id, business_date, gross, refunds, fees, net, channel_fees,"
    " payments, account_no, account_name, bank, actor, created_at)"
    " VALUES (1, '2026-11-22', 200, 0, 0, 200, 0, 1, '622200001', 'n', 'bank', 't', now())",
    "INSERT INTO settlement_lines VALUES (1, '2026-11-22', 2, 200, 1, 0, 0, 0, 0, 0, 0, 0, 0,"
    " 200, 200)",
    "INSERT INTO payouts (biller_id, business_date, reference, amount, account_no, status,"
    " created_at) VALUES (1, '2026-11-22', 'STL-GROUP-20261122', 200, '622200001', 'PENDING',"
    " now())",
    "INSERT INTO ledger_accounts (code, kind, biller_id, currency, created_at)"
    " VALUES ('PREPAID_BALANCE:BRANCH:A1:CNY', 'PREPAID_BALANCE', 2, 'CNY', now())",
    "INSERT INTO prepaid_accounts (biller_id, account_no, ledger_account_id, balance, state,"
    " state_since, accrue_from, enrolled_at) VALUES (2, 'A1', 1, 0, 'NORMAL', now(),"
    " '2026-11-22', now())",
)
# The group asks for the branch's order O2 with another request: the order is taken.
REPEAT_ORDER = (
    "SELECT outcome, (payment).id FROM pay_hosted('P9', 1, NULL, 'O2', '\\x01', 1, 'A1', 200,"
    " NULL, 'p', now(), 'R', 1, 1)"
)


def test_the_distribution_keys_keep_the_rules_of_the_data_already_there(db_url: URL) -> None:
    scratch = db_url.set(database=f"utilipay_keys_{os.getpid()}")
    asyncio.run(drop_database(scratch))
    guards = [c.sql for c in BOOKS if c.name in {"payment_orders_name_their_payments",
                                                  "branch_days_settled_once"}]  # fmt: skip
    try:
        upgrade(scratch, "0021")
        engine = create_engine(_sync(scratch), poolclass=pool.NullPool)
        with engine.begin() as conn:
            for statement in BEFORE_KEYS:
                conn.execute(text(statement))
        upgrade(scratch)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT * FROM payment_orders ORDER BY 2")).all() == [
                (1, "O1", 1, "P1"), (1, "O2", 2, "P2")
            ]  # fmt: skip
            assert conn.execute(text("SELECT * FROM settlement_branch_days")).all() == [
                (2, date(2026, 11, 22), 1)
            ]
            assert [conn.execute(text(sql)).all() for sql in guards] == [[], []]
            assert conn.execute(text(REPEAT_ORDER)).one() == ("IDEMPOTENCY_CONFLICT", "P2")
        downgrade(scratch, "0021")
        with engine.begin() as conn:
            assert conn.execute(text(REPEAT_ORDER)).one() == ("IDEMPOTENCY_CONFLICT", "P2")
            unique = "SELECT indexrelid::regclass::text FROM pg_index WHERE indisunique"
            assert {"payments_order", "settlement_lines_branch_day", "payments_id"} <= set(
                conn.execute(text(unique)).scalars()
            )
        engine.dispose()
    finally:
        asyncio.run(drop_database(scratch))
