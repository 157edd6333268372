"""Every table of the hub, for tools that need the whole schema (migrations, drift test).

Importing each area's table modules registers their tables on the one ``metadata``.
"""

from utilipay.access import tables as access_tables
from utilipay.audit import tables as audit_tables
from utilipay.autopay import tables as autopay_tables
from utilipay.billers import tables as billers_tables
from utilipay.billing import tables as billing_tables
from utilipay.billruns import tables as billruns_tables
from utilipay.bindings import tables as bindings_tables
from utilipay.calendar import tables as calendar_tables
from utilipay.channels import tables as channels_tables
from utilipay.claims import tables as claims_tables
from utilipay.collection import tables as collection_tables
from utilipay.db import metadata
from utilipay.h5 import tables as h5_tables
from utilipay.headend import tables as headend_tables
from utilipay.ledger import tables as ledger_tables
from utilipay.migrations import tables as migrations_tables
from utilipay.notify import tables as notify_tables
from utilipay.outbox import tables as outbox_tables
from utilipay.outlets import tables as outlets_tables
from utilipay.payments import tables as payments_tables
from utilipay.prepaid import tables as prepaid_tables
from utilipay.readings import tables as readings_tables
from utilipay.receipts import tables as receipts_tables
from utilipay.recon import match_tables as recon_match_tables
from utilipay.recon import statement_tables as recon_statement_tables
from utilipay.settlement import tables as settlement_tables
from utilipay.staff import tables as staff_tables
from utilipay.tariffs import tables as tariffs_tables
from utilipay.vouchers import tables as vouchers_tables
from utilipay.warnings import tables as warnings_tables
from utilipay.webhooks import tables as webhooks_tables

AREAS = (
    access_tables, audit_tables, autopay_tables, billers_tables, billing_tables,
    billruns_tables, bindings_tables, calendar_tables, channels_tables, claims_tables,
    collection_tables,
    h5_tables, headend_tables, ledger_tables, migrations_tables, notify_tables, outbox_tables,
    outlets_tables, payments_tables, prepaid_tables, readings_tables, receipts_tables,
    recon_match_tables, recon_statement_tables, settlement_tables, staff_tables, tariffs_tables,
    vouchers_tables, warnings_tables,
    webhooks_tables,
)  # fmt: skip

__all__ = ["AREAS", "metadata"]
