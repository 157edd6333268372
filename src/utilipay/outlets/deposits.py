"""Float deposits (预存款): money an outlet's owner paid into the hub's bank account.

A deposit is recorded by an operator with the bank's reference of the transfer, or found
in an imported bank statement (camt.053, MT940) whose credit line carries the outlet's
deposit reference (``FLOAT-<channel>-<outlet>``) in its remittance information. Either
way, one transaction writes the deposit, adds it to the float's row with one update and
posts the ledger's ``FLOAT_DEPOSIT`` entry. The bank's reference is unique: a transfer is
credited once, whoever records it first; an operator recording it again is refused, a
statement imported again changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.flows import post_float_deposit
from utilipay.outlets import floats, repository
from utilipay.outlets.repository import DEPOSIT_PREFIX, Deposit, Outlet
from utilipay.outlets.service import check_text, find

MAX_DEPOSIT = 10**10  # fen: a hundred million yuan, far above any single transfer
# A deposit reference in remittance text: FLOAT-<channel>-<outlet>, read without case.
_CANDIDATE = re.compile(rf"{DEPOSIT_PREFIX}-[A-Z0-9_]+-[A-Z0-9_.\-]+")


def check_amount(amount: int) -> int:
    if not 0 < amount <= MAX_DEPOSIT:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"deposit amount {amount}: give 1 to {MAX_DEPOSIT} fen"
        )
    return amount


async def _credit(
    conn: AsyncConnection,
    clock: Clock,
    outlet: Outlet,
    *,
    amount: int,
    bank_reference: str,
    source: str,
    recorded_by: str,
) -> Deposit | None:
    """Write the deposit, credit the float, post the entry; None (nothing written) when
    the bank reference was recorded before."""
    deposit_id = await repository.insert_deposit(
        conn, outlet_id=outlet.id, amount=amount, bank_reference=bank_reference,
        source=source, recorded_by=recorded_by, recorded_at=clock.now(),
    )  # fmt: skip
    if deposit_id is None:
        return None
    await repository.credit_float(conn, outlet.id, amount)
    await post_float_deposit(
        conn, clock, float_account=outlet.float_account, amount=amount, reference=bank_reference
    )
    await floats.after_change(conn, outlet.id, clock)  # the low-float episode may end
    return await repository.deposit_by_reference(conn, bank_reference)


async def record_deposit(
    conn: AsyncConnection,
    clock: Clock,
    *,
    channel: str,
    outlet: str,
    amount: int,
    bank_reference: str,
    actor: str,
    reason: str = "",
) -> Deposit:
    """An operator records a transfer seen on the hub's bank account."""
    check_amount(amount)
    bank_reference = check_text("the bank reference", bank_reference)
    where = await find(conn, channel, outlet)
    deposit = await _credit(
        conn, clock, where, amount=amount, bank_reference=bank_reference,
        source="OPERATOR", recorded_by=actor,
    )  # fmt: skip
    if deposit is None:
        earlier = await repository.deposit_by_reference(conn, bank_reference)
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"bank reference {bank_reference} was recorded already"
            + (f" ({earlier.source}, by {earlier.recorded_by})" if earlier else ""),
        )
    await audit.record(
        conn, clock, actor=actor, action="float.deposit", object_type="outlet",
        object_id=where.key, reason=reason,
        details={"amount": amount, "bank_reference": bank_reference, "source": "OPERATOR"},
    )  # fmt: skip
    return deposit


@dataclass(slots=True)
class MatchReport:
    """What matching a statement's credit lines did: deposits made, lines already
    credited, lines naming more than one outlet (left for a person)."""

    deposits: list[tuple[str, Deposit]] = field(default_factory=list)
    already: int = 0
    ambiguous: list[str] = field(default_factory=list)

    @property
    def amount(self) -> int:
        return sum(d.amount for _, d in self.deposits)

    def as_json(self) -> dict[str, object]:
        return {
            "deposits": [{"outlet": key, **d.as_json()} for key, d in self.deposits],
            "count": len(self.deposits), "amount": self.amount, "already": self.already,
            "ambiguous": self.ambiguous,
        }  # fmt: skip


def references_in(remittance: str, known: dict[str, int]) -> set[int]:
    """The outlets whose deposit reference the remittance text carries. MT940 wraps :86:
    at 65 characters, anywhere: the text is read both as written and with its line breaks
    removed; a token is taken whole (SHOP-1 is not SHOP-10) or without a closing '.'/'-'."""
    text = remittance.upper()
    found: set[int] = set()
    for variant in {text, re.sub(r"\s*\n\s*", "", text)}:
        for token in _CANDIDATE.findall(variant):
            for candidate in (token, token.rstrip(".-")):
                if candidate in known:
                    found.add(known[candidate])
                    break
    return found


async def match_statement_deposits(
    conn: AsyncConnection, clock: Clock, *, import_id: int | None = None, actor: str
) -> MatchReport:
    """Credit lines of the imported bank statements (of one import) whose remittance
    information carries an outlet's deposit reference become deposits (source STATEMENT,
    the line's bank reference as theirs): idempotent, a line is credited once."""
    known = await repository.references(conn)
    report = MatchReport()
    for line in await repository.statement_credits(conn, import_id) if known else []:
        outlets = references_in(line.remittance, known)
        where = f"statement #{line.import_id} line {line.line_no}"
        if len(outlets) > 1:
            report.ambiguous.append(f"{where}: {len(outlets)} outlets' references")
            continue
        if not outlets:
            continue
        outlet = await repository.outlet_by_id(conn, outlets.pop())
        deposit = await _credit(
            conn, clock, outlet, amount=line.amount, bank_reference=line.bank_ref,
            source="STATEMENT", recorded_by=actor,
        )  # fmt: skip
        if deposit is None:
            report.already += 1
            continue
        report.deposits.append((outlet.key, deposit))
        await audit.record(
            conn, clock, actor=actor, action="float.deposit", object_type="outlet",
            object_id=outlet.key, reason=f"matched on {where}",
            details={"amount": line.amount, "bank_reference": line.bank_ref,
                     "source": "STATEMENT", "import_id": line.import_id,
                     "line_no": line.line_no},
        )  # fmt: skip
    return report
