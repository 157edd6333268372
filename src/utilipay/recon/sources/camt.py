"""ISO 20022 camt.053 (BankToCustomerStatement), any version (.001.02 to .001.08 read the
same for what is kept here), parsed with defusedxml: no DTD, no entities, nothing fetched.

Every booked entry (Sts BOOK) of every statement becomes a CREDIT or DEBIT line for its
amount, on its booking date, referenced by its end-to-end id (else the bank's reference),
line-numbered by where the entry starts in the file, with the bank's own reference
(AcctSvcrRef) and the remittance information (RmtInf/Ustrd, else AddtlNtryInf). Each
statement's balances are kept, and opening (OPBD, else PRCD) plus the booked entries is
checked against closing (CLBD): real files do not always add up, and a file whose balances
disagree says so instead of being taken at its word. All statements of a file must be of
one account.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime

from utilipay.common.xmlfiles import parse_with_lines
from utilipay.money import in_yuan
from utilipay.recon.sources.common import (
    Check,
    Kind,
    ParsedStatement,
    Party,
    Rejects,
    StatementLine,
    Status,
    check_size,
    local_midnight,
    one_day,
    pick_account,
    reject,
    to_fen,
    yuan,
)

OPENING, CLOSING = ("OPBD", "PRCD"), "CLBD"
SIGNS = {"CRDT": 1, "DBIT": -1}
NOT_PROVIDED = "NOTPROVIDED"


def looks_like_camt053(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"camt.053" in head


def _text(element: ET.Element | None, path: str) -> str | None:
    found = element.find(path) if element is not None else None
    return found.text.strip() if found is not None and found.text else None


def _when(element: ET.Element | None) -> tuple[date, datetime] | None:
    """A <Dt> or <DtTm> choice → (the date as the bank wrote it, the instant)."""
    if (day := _text(element, "Dt")) is not None:
        parsed = date.fromisoformat(day)
        return parsed, local_midnight(parsed)
    if (moment := _text(element, "DtTm")) is not None:
        instant = datetime.fromisoformat(moment)
        if instant.tzinfo is None:
            instant = local_midnight(instant.date()).replace(
                hour=instant.hour, minute=instant.minute
            )
        return instant.date(), instant
    return None


def _account(statement: ET.Element) -> str | None:
    return _text(statement, "Acct/Id/IBAN") or _text(statement, "Acct/Id/Othr/Id")


def parse_camt053(data: bytes, source: str = "", account: str | None = None) -> ParsedStatement:
    """The statements of ``account`` (IBAN or other id), which may be left out if the file
    has one."""
    check_size(data, source)
    root, lines_of = parse_with_lines(data, source, local_names=True)
    if root.tag != "Document" or root.find("BkToCstmrStmt") is None:
        kind = next(iter(root), root).tag
        raise reject(source, 1, f"not a camt.053 statement (BkToCstmrStmt) but {kind}")
    statements = root.findall("BkToCstmrStmt/Stmt")
    accounts = [_account(s) or "" for s in statements]
    if not statements:
        raise reject(source, 1, "no statement (Stmt) in the file")
    chosen = pick_account(accounts, account, source)
    rejects = Rejects(source)
    parsed = ParsedStatement(Kind.CAMT053, Party.BANK, [], party_code=chosen)
    parsed.declared = {"statements": []}
    for statement, of in zip(statements, accounts, strict=True):
        if of != chosen:
            parsed.notes.append(f"statement {_text(statement, 'Id')}: account {of}, left out")
            continue
        entries = statement.findall("Ntry")
        if pending := [lines_of.get(e, 1) for e in entries if _status(e) != "BOOK"]:
            parsed.notes.append(f"entries not booked yet, left out: lines {pending}")
        booked = [_entry(e, lines_of.get(e, 1), rejects) for e in entries if _status(e) == "BOOK"]
        lines = [line for line in booked if line is not None]
        parsed.lines += lines
        _balances(parsed, statement, lines, lines_of, rejects)
    rejects.raise_if_any()
    parsed.business_date = one_day(parsed.lines)
    return parsed


def _status(entry: ET.Element) -> str | None:
    """BOOK, or PDNG / INFO: not on the account yet (v2-v4 give text, v8 a code)."""
    return _text(entry, "Sts") or _text(entry, "Sts/Cd")


def _entry(entry: ET.Element, number: int, rejects: Rejects) -> StatementLine | None:
    amount = entry.find("Amt")
    sign = SIGNS.get(_text(entry, "CdtDbtInd") or "")
    try:
        fen = to_fen(amount.text or "") if amount is not None else 0
        booked = _when(entry.find("BookgDt"))
    except ValueError as exc:
        rejects.add(number, f"entry: {exc}")
        return None
    if amount is None or sign is None or booked is None or fen <= 0:
        rejects.add(number, "an entry needs Amt above zero, CdtDbtInd CRDT|DBIT and BookgDt")
        return None
    details = entry.find("NtryDtls/TxDtls")
    end_to_end = _text(details, "Refs/EndToEndId")
    if end_to_end == NOT_PROVIDED:
        end_to_end = None
    reference = (end_to_end or _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
                 or _text(details, "Refs/AcctSvcrRef"))  # fmt: skip
    other = "Dbtr" if sign > 0 else "Cdtr"
    parties = details.find("RltdPties") if details is not None else None
    name = None
    if parties is not None and (party := parties.find(other)) is not None:
        name = next((n.text.strip() for n in party.iter("Nm") if n.text), None)
    their_account = _text(parties, f"{other}Acct/Id/IBAN") or _text(
        parties, f"{other}Acct/Id/Othr/Id"
    )
    return StatementLine(
        number, fen, Status.CREDIT if sign > 0 else Status.DEBIT, booked[1], booked[0],
        currency=amount.get("Ccy", ""), party_ref=reference, counterparty=name,
        account_no=their_account, remittance=_remittance(entry, details),
        bank_ref=_text(entry, "AcctSvcrRef") or _text(details, "Refs/AcctSvcrRef"),
    )  # fmt: skip


def _remittance(entry: ET.Element, details: ET.Element | None) -> str | None:
    """What the payer wrote (附言): the unstructured remittance lines, else the entry's
    additional information."""
    found = details.findall("RmtInf/Ustrd") if details is not None else []
    lines = [u.text.strip() for u in found if u.text and u.text.strip()]
    return " ".join(lines) or _text(entry, "AddtlNtryInf")


def _balances(
    parsed: ParsedStatement,
    statement: ET.Element,
    lines: list[StatementLine],
    lines_of: dict[ET.Element, int],
    rejects: Rejects,
) -> None:
    name = _text(statement, "Id") or "?"
    currency = _text(statement, "Acct/Ccy")
    balances: dict[str, tuple[int, str]] = {}
    for balance in statement.findall("Bal"):
        code = _text(balance, "Tp/CdOrPrtry/Cd") or _text(balance, "Tp/CdOrPrtry/Prtry") or "?"
        amount = balance.find("Amt")
        sign = SIGNS.get(_text(balance, "CdtDbtInd") or "")
        try:
            fen = to_fen(amount.text or "") if amount is not None else None
        except ValueError as exc:
            rejects.add(lines_of.get(balance, 1), f"balance {code}: {exc}")
            continue
        if fen is None or sign is None or amount is None:
            rejects.add(lines_of.get(balance, 1), f"balance {code} needs Amt and CdtDbtInd")
            continue
        balances[code] = (sign * fen, amount.get("Ccy", ""))
    parsed.declared["statements"].append(
        {"id": name, "currency": currency,
         "balances": {code: [yuan(fen), ccy] for code, (fen, ccy) in balances.items()}}
    )  # fmt: skip
    opening = next((balances[c] for c in OPENING if c in balances), None)
    closing = balances.get(CLOSING)
    if opening is None or closing is None:
        parsed.notes.append(f"statement {name}: no opening or closing booked balance to check")
        return
    net = sum(x.amount if x.status is Status.CREDIT else -x.amount for x in lines)
    parsed.checks.append(Check(f"statement {name} {CLOSING}", in_yuan(closing[0]),
                               in_yuan(opening[0] + net)))  # fmt: skip
    account_currency = currency or opening[1]
    for code, (_, ccy) in balances.items():
        if code in (*OPENING, CLOSING) and ccy != account_currency:
            parsed.checks.append(Check(f"statement {name} {code} currency", ccy, account_currency))
