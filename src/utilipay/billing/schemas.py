from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Bill:
    bill_no: str
    account_no: str
    period: str  # YYYY-MM
    amount: int  # fen
    late_fee: int  # fen
    due_date: date

    @property
    def total(self) -> int:
        return self.amount + self.late_fee


class BillStatus(StrEnum):
    UNPAID = "UNPAID"
    PAID = "PAID"


@dataclass(frozen=True, slots=True)
class StoredBill:
    """A hosted bill with where it stands: paid, and by which payment."""

    bill: Bill
    status: BillStatus
    payment_id: str | None


@dataclass(frozen=True, slots=True)
class CustomerAccount:
    account_no: str
    holder_name: str
    address: str


@dataclass(frozen=True, slots=True)
class BillRow:
    """One line of a bills CSV, checked for shape but not yet against the database."""

    line: int
    biller: str
    account_no: str
    holder: str
    bill: Bill


@dataclass(frozen=True, slots=True)
class ImportReport:
    bills_added: int
    bills_unchanged: int
    accounts_added: int
    accounts_renamed: int
