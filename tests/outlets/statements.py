"""Bank statements as the hub's bank sends them (CNY), built the way the recon tests build
theirs: an MT940 and a camt.053 with credit lines whose remittance information (附言)
carries what the payer wrote."""

from __future__ import annotations

from dataclasses import dataclass

HUB_ACCOUNT = "6222999988887777"


@dataclass(frozen=True, slots=True)
class Credit:
    bank_ref: str
    fen: int
    remittance: str  # MT940: may hold line breaks, as :86: wraps at 65 characters


def _yuan(fen: int) -> str:
    return f"{fen // 100},{fen % 100:02d}"


def mt940(credits: list[Credit], day: str = "261122", opening: int = 1_000_000) -> bytes:
    """One statement of the hub's account on ``day`` (YYMMDD)."""
    rows = [":20:STMT" + day, f":25:{HUB_ACCOUNT}", ":28C:00001/001",
            f":60F:C{day}CNY{_yuan(opening)}"]  # fmt: skip
    for credit in credits:
        rows.append(f":61:{day}{day[2:]}C{_yuan(credit.fen)}NTRFNONREF//{credit.bank_ref}")
        rows.append(f":86:{credit.remittance}")
    closing = opening + sum(c.fen for c in credits)
    rows.append(f":62F:C{day}CNY{_yuan(closing)}")
    return ("\r\n".join(rows) + "\r\n").encode()


def _entry(credit: Credit, day: str) -> str:
    return f"""
      <Ntry>
        <Amt Ccy="CNY">{credit.fen // 100}.{credit.fen % 100:02d}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt>
        <AcctSvcrRef>{credit.bank_ref}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <RltdPties><Dbtr><Nm>陈大海</Nm></Dbtr></RltdPties>
          <RmtInf><Ustrd>{credit.remittance}</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>"""


def camt053(credits: list[Credit], day: str = "2026-11-22", opening: int = 1_000_000) -> bytes:
    closing = opening + sum(c.fen for c in credits)

    def balance(code: str, fen: int) -> str:
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
                f'<Amt Ccy="CNY">{fen / 100:.2f}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
                f"<Dt><Dt>{day}</Dt></Dt></Bal>")  # fmt: skip

    entries = "".join(_entry(c, day) for c in credits)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>ICBC{day}</MsgId><CreDtTm>{day}T18:00:00+08:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-{day}</Id>
      <Acct><Id><Othr><Id>{HUB_ACCOUNT}</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
      {balance("OPBD", opening)}
      {balance("CLBD", closing)}{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()
