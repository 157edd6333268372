"""Biller protocol messages (biller-protocol.md §3, §4): typed, rendered and parsed strictly.

Rendering is deterministic (the bytes that get signed). Parsing uses defusedxml
with DTDs forbidden, so no entity is ever expanded or fetched; the text must be
UTF-8 and say so if it names an encoding; a missing or ill-typed required
field is a ``ProtocolError`` with code 8002, never a crash. Unknown elements
are ignored (forward compatibility).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Self

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from utilipay.billers.protocol.codes import Code
from utilipay.billers.protocol.fields import (
    Fields,
    malformed,
    read_date,
    read_enum,
    read_fen,
    read_period,
    read_text,
    read_time,
    render_fields,
)
from utilipay.clock import SHANGHAI, as_utc

VERSION = "1.0"
PLATFORM = "UTILIPAY"
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class Trancode(StrEnum):
    QUERY = "query"
    CHARGE = "charge"
    CONFIRM = "confirm"
    REFUND = "refund"


class OrderStatus(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    NOTFOUND = "NOTFOUND"
    PROCESSING = "PROCESSING"
    REVERSED = "REVERSED"


def format_time(instant: datetime) -> str:
    return as_utc(instant).astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S")


def format_date(day: date) -> str:
    return day.strftime("%Y%m%d")


# ---------------------------------------------------------------- the head


@dataclass(frozen=True, slots=True)
class Head:
    trancode: Trancode
    biller: str
    serial: str
    time: datetime
    platform: str = PLATFORM
    version: str = VERSION
    code: Code | None = None  # responses only
    msg: str = ""

    def fields(self) -> Fields:
        fields: Fields = [
            ("version", self.version),
            ("trancode", self.trancode),
            ("platform", self.platform),
            ("biller", self.biller),
            ("serial", self.serial),
            ("time", format_time(self.time)),
        ]
        if self.code is not None:
            fields += [("code", self.code), ("msg", self.msg)]
        return fields

    def answer(self, code: Code, msg: str, at: datetime) -> Head:
        """The head of the response to this request."""
        return Head(
            trancode=self.trancode,
            biller=self.biller,
            serial=self.serial,
            time=at,
            platform=self.platform,
            version=self.version,
            code=code,
            msg=msg,
        )

    @classmethod
    def parse(cls, node: ET.Element, *, response: bool) -> Head:
        code = None
        if response:
            raw = read_text(node, "code")
            try:
                code = Code(raw)
            except ValueError:
                raise malformed(f"<code> {raw[:8]!r} is not a protocol code") from None
        serial = read_text(node, "serial", max_len=32)
        return cls(
            trancode=read_enum(node, "trancode", Trancode),
            biller=read_text(node, "biller", max_len=32),
            serial=serial,
            time=read_time(node, "time"),
            platform=read_text(node, "platform", max_len=32),
            version=read_text(node, "version", max_len=8),
            code=code,
            msg=read_text(node, "msg", required=False, max_len=256) if response else "",
        )


# ---------------------------------------------------------------- bodies


class Body(ABC):
    trancode: ClassVar[Trancode]

    @abstractmethod
    def fields(self) -> Fields: ...

    @classmethod
    @abstractmethod
    def parse(cls, node: ET.Element) -> Self: ...


@dataclass(frozen=True, slots=True)
class QueryRequest(Body):
    trancode: ClassVar[Trancode] = Trancode.QUERY
    account: str

    def fields(self) -> Fields:
        return [("account", self.account)]

    @classmethod
    def parse(cls, node: ET.Element) -> Self:
        return cls(account=read_text(node, "account"))


@dataclass(frozen=True, slots=True)
class BillItem:
    billno: str
    period: str  # yyyyMM
    amount: int
    latefee: int
    duedate: date

    def fields(self) -> Fields:
        return [
            ("billno", self.billno),
            ("period", self.period),
            ("amount", self.amount),
            ("latefee", self.latefee),
            ("duedate", format_date(self.duedate)),
        ]

    @classmethod
    def parse(cls, node: ET.Element) -> BillItem:
        return cls(
            billno=read_text(node, "billno"),
            period=read_period(node, "period"),
            amount=read_fen(node, "amount"),
            latefee=read_fen(node, "latefee"),
            duedate=read_date(node, "duedate"),
        )


@dataclass(frozen=True, slots=True)
class QueryAnswer(Body):
    trancode: ClassVar[Trancode] = Trancode.QUERY
    account: str
    name: str
    address: str
    bills: tuple[BillItem, ...]
    total: int

    def fields(self) -> Fields:
        return [
            ("account", self.account),
            ("name", self.name),
            ("address", self.address),
            ("bills", [("bill", b.fields()) for b in self.bills]),
            ("total", self.total),
        ]

    @classmethod
    def parse(cls, node: ET.Element) -> Self:
        container = node.find("bills")
        if container is None:
            raise malformed("<bills> is missing")
        bills = tuple(BillItem.parse(b) for b in container.findall("bill"))
        total = read_fen(node, "total")
        if total != sum(b.amount + b.latefee for b in bills):
            raise malformed(f"<total> {total} is not the sum of the listed bills")
        return cls(
            account=read_text(node, "account"),
            name=read_text(node, "name", required=False, max_len=128),
            address=read_text(node, "address", required=False, max_len=256),
            bills=bills,
            total=total,
        )


@dataclass(frozen=True, slots=True)
class ChargeRequest(Body):
    trancode: ClassVar[Trancode] = Trancode.CHARGE
    account: str
    orderno: str
    amount: int
    billnos: tuple[str, ...]
    channel: str
    paytime: datetime

    def fields(self) -> Fields:
        return [
            ("account", self.account),
            ("orderno", self.orderno),
            ("amount", self.amount),
            ("billnos", [("billno", b) for b in self.billnos]),
            ("channel", self.channel),
            ("paytime", format_time(self.paytime)),
        ]

    @classmethod
    def parse(cls, node: ET.Element) -> Self:
        container = node.find("billnos")
        found = container.findall("billno") if container is not None else []
        billnos = tuple((b.text or "").strip() for b in found)
        if not billnos or not all(billnos):
            raise malformed("<billnos> must list at least one <billno>")
        return cls(
            account=read_text(node, "account"),
            orderno=read_text(node, "orderno"),
            amount=read_fen(node, "amount"),
            billnos=billnos,
            channel=read_text(node, "channel", max_len=32),
            paytime=read_time(node, "paytime"),
        )


@dataclass(frozen=True, slots=True)
class ChargeAnswer(Body):
    trancode: ClassVar[Trancode] = Trancode.CHARGE
    orderno: str
    billerserial: str
    amount: int

    def fields(self) -> Fields:
        return [
            ("orderno", self.orderno),
            ("billerserial", self.billerserial),
            ("amount", self.amount),
        ]

    @classmethod
    def parse(cls, node: ET.Element) -> Self:
        return cls(
            orderno=read_text(node, "orderno"),
            billerserial=read_text(node, "billerserial"),
            amount=read_fen(node, "amount"),
        )


@dataclass(frozen=True, slots=True)
class ConfirmRequest(Body):
    trancode: ClassVar[Trancode] = Trancode.CONFIRM
    orderno: str

    def fields(self) -> Fields:
        return [("orderno", self.orderno)]

    @classmethod
    def parse(cls, node: ET.Element) -> Self:
        return cls(orderno=read_text(node, "orderno"))


@dataclass(frozen=True, slots=True)
class ConfirmAnswer(Body):
    trancode: ClassVar[Trancode] = Trancode.CONFIRM
    orderno: str
    status: OrderStatus
    billerserial: str | None = None  # SUCCESS and REVERSED only
    amount: int | None = None

    def fields(self) -> Fields:
        fields: Fields = [("orderno", self.orderno), ("status", self.status)]
        if self.billerserial is not None and self.amount is not None:
            fields += [("billerserial", self.billerserial), ("amount", self.amount)]
        return fields

    @classmethod
    def parse(cls, node: ET.Element) -> Self:
        status = read_enum(node, "status", OrderStatus)
        written_off = status in {OrderStatus.SUCCESS, OrderStatus.REVERSED}
        return cls(
            orderno=read_text(node, "orderno"),
            status=status,
            billerserial=read_text(node, "billerserial") if written_off else None,
            amount=read_fen(node, "amount") if written_off else None,
        )


@dataclass(frozen=True, slots=True)
class RefundRequest(Body):
    trancode: ClassVar[Trancode] = Trancode.REFUND
    orderno: str
    amount: int
    reason: str

    def fields(self) -> Fields:
        return [("orderno", self.orderno), ("amount", self.amount), ("reason", self.reason)]

    @classmethod
    def parse(cls, node: ET.Element) -> Self:
        return cls(
            orderno=read_text(node, "orderno"),
            amount=read_fen(node, "amount"),
            reason=read_text(node, "reason", required=False, max_len=256),
        )


@dataclass(frozen=True, slots=True)
class RefundAnswer(Body):
    trancode: ClassVar[Trancode] = Trancode.REFUND
    orderno: str
    status: OrderStatus  # REVERSED: a write-off was undone; NOTFOUND: none was ever made
    billerserial: str | None = None
    amount: int | None = None

    def fields(self) -> Fields:
        fields: Fields = [("orderno", self.orderno), ("status", self.status)]
        if self.billerserial is not None and self.amount is not None:
            fields += [("billerserial", self.billerserial), ("amount", self.amount)]
        return fields

    @classmethod
    def parse(cls, node: ET.Element) -> Self:
        status = read_enum(node, "status", OrderStatus)
        if status not in {OrderStatus.REVERSED, OrderStatus.NOTFOUND}:
            raise malformed(f"a refund cannot end {status}")
        has_serial = node.find("billerserial") is not None
        return cls(
            orderno=read_text(node, "orderno"),
            status=status,
            billerserial=read_text(node, "billerserial") if has_serial else None,
            amount=read_fen(node, "amount") if has_serial else None,
        )


REQUESTS: dict[Trancode, type[Body]] = {
    Trancode.QUERY: QueryRequest,
    Trancode.CHARGE: ChargeRequest,
    Trancode.CONFIRM: ConfirmRequest,
    Trancode.REFUND: RefundRequest,
}
ANSWERS: dict[Trancode, type[Body]] = {
    Trancode.QUERY: QueryAnswer,
    Trancode.CHARGE: ChargeAnswer,
    Trancode.CONFIRM: ConfirmAnswer,
    Trancode.REFUND: RefundAnswer,
}


# ---------------------------------------------------------------- whole messages


@dataclass(frozen=True, slots=True)
class Message:
    head: Head
    body: Body | None = field(default=None)


def render(head: Head, body: Body | None = None) -> bytes:
    inner = render_fields(body.fields()) if body is not None else ""
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<message><head>{render_fields(head.fields())}</head><body>{inner}</body></message>"
    )
    return text.encode("utf-8")


def _document(xml: bytes) -> ET.Element:
    declared = _DECLARED_ENCODING.match(xml)
    if declared and declared.group(1).lower().replace(b"_", b"-") not in {b"utf-8", b"utf8"}:
        raise malformed(f"messages are UTF-8, not {declared.group(1).decode()}")
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed(f"not UTF-8 at byte {exc.start}") from None
    try:
        root: ET.Element = fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise malformed(f"refused: {type(exc).__name__}") from None
    except ET.ParseError as exc:
        raise malformed(f"not well-formed XML: {exc}") from None
    if root.tag != "message" or root.find("head") is None:
        raise malformed("the root must be <message> with a <head>")
    return root


def parse_request(xml: bytes) -> Message:
    root = _document(xml)
    head = Head.parse(_child(root, "head"), response=False)
    return Message(head, REQUESTS[head.trancode].parse(_child(root, "body")))


def parse_response(xml: bytes, expected: Trancode) -> Message:
    """A response; its body is read only when the code says it carries one."""
    root = _document(xml)
    head = Head.parse(_child(root, "head"), response=True)
    if head.trancode != expected:
        raise malformed(f"answer to {head.trancode}, expected {expected}")
    carries_body = head.code is Code.OK or (
        head.code is Code.DUPLICATE_ORDER and root.find("body/billerserial") is not None
    )
    if not carries_body:
        return Message(head)
    return Message(head, ANSWERS[expected].parse(_child(root, "body")))


def _child(root: ET.Element, tag: str) -> ET.Element:
    node = root.find(tag)
    if node is None:
        raise malformed(f"<{tag}> is missing")
    return node


def salvage_head(xml: bytes, blank: Head) -> Head:
    """The head to refuse a signed but malformed request with: what can be read of its own
    head, ``blank``'s fields for the rest. Best effort only; the request is never acted on."""
    try:
        root = fromstring(xml, forbid_dtd=True)
    except (DefusedXmlException, ET.ParseError, ValueError):
        return blank
    head = root.find("head") if root.tag == "message" else None
    if head is None:
        return blank

    def read(tag: str, default: str) -> str:
        value = (head.findtext(tag) or "").strip()
        return value if 0 < len(value) <= 32 and value.isprintable() else default

    return replace(
        blank,
        version=read("version", blank.version),
        platform=read("platform", blank.platform),
        biller=read("biller", blank.biller),
        serial=read("serial", blank.serial),
    )
