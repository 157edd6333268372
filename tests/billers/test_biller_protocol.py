"""The biller protocol's framing, signatures and messages, on hostile input too."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utilipay.billers.protocol.codes import Code, ProtocolError
from utilipay.billers.protocol.framing import MAX_MESSAGE, SignType, frame, sign, unframe
from utilipay.billers.protocol.messages import (
    BillItem,
    ChargeAnswer,
    ChargeRequest,
    ConfirmAnswer,
    Head,
    OrderStatus,
    QueryAnswer,
    Trancode,
    parse_request,
    parse_response,
    render,
)

KEY = "biller-shared-key-0123456789"
AT = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai
HEAD = Head(Trancode.CHARGE, "BJWATER", "C01TEST", AT)
CHARGE = ChargeRequest("0112345678", "P01TEST", 12345, ("B202610-0001",), "WECHAT", AT)


def test_sha1_and_hmac_signatures_follow_the_spec() -> None:
    xml = render(HEAD, CHARGE)
    assert sign(SignType.SHA1, KEY, xml) == hashlib.sha1(xml + KEY.encode()).hexdigest().upper()
    assert (
        sign(SignType.HMAC_SHA256, KEY, xml)
        == hmac.new(KEY.encode(), xml, hashlib.sha256).hexdigest().upper()
    )
    assert len(frame(SignType.SHA1, KEY, xml)) == 40 + len(xml)
    assert len(frame(SignType.HMAC_SHA256, KEY, xml)) == 64 + len(xml)


def test_the_rendered_charge_is_the_spec_shape() -> None:
    text = render(HEAD, CHARGE).decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<message><head>')
    assert "<version>1.0</version><trancode>charge</trancode><platform>UTILIPAY</platform>" in text
    assert "<time>20261122153000</time>" in text
    assert "<billnos><billno>B202610-0001</billno></billnos>" in text
    assert "<paytime>20261122153000</paytime>" in text


@pytest.mark.parametrize("sign_type", list(SignType))
def test_round_trip_and_key_rotation(sign_type: SignType) -> None:
    body = frame(sign_type, "new-key-0123456789", render(HEAD, CHARGE))
    xml = unframe(sign_type, ["old-key-0123456789", "new-key-0123456789"], body)
    message = parse_request(xml)
    assert message.head == HEAD
    assert message.body == CHARGE
    with pytest.raises(ProtocolError) as caught:
        unframe(sign_type, ["old-key-0123456789"], body)
    assert caught.value.code is Code.SIGNATURE_INVALID


def test_a_tampered_message_fails_its_signature() -> None:
    body = frame(SignType.HMAC_SHA256, KEY, render(HEAD, CHARGE))
    with pytest.raises(ProtocolError) as caught:
        unframe(SignType.HMAC_SHA256, [KEY], body.replace(b"12345", b"00001"))
    assert caught.value.code is Code.SIGNATURE_INVALID


def test_oversize_is_refused_before_anything_else() -> None:
    huge = b"X" * (MAX_MESSAGE + 1)
    with pytest.raises(ProtocolError, match="exceeds") as caught:
        unframe(SignType.HMAC_SHA256, [KEY], huge)
    assert caught.value.code is Code.MALFORMED


def test_responses_round_trip() -> None:
    xml = render(HEAD.answer(Code.OK, "ok", AT), ChargeAnswer("P01TEST", "W000123", 12345))
    message = parse_response(xml, Trancode.CHARGE)
    assert message.head.code is Code.OK
    assert message.body == ChargeAnswer("P01TEST", "W000123", 12345)

    bills = QueryAnswer(
        "0112345678",
        "张*",
        "东城区***",
        (BillItem("B202610-0001", "202610", 12345, 0, date(2026, 11, 30)),),
        12345,
    )
    head = Head(Trancode.QUERY, "BJWATER", "Q1", AT, code=Code.OK)
    assert parse_response(render(head, bills), Trancode.QUERY).body == bills

    confirm = ConfirmAnswer("P01TEST", OrderStatus.PROCESSING)
    head = Head(Trancode.CONFIRM, "BJWATER", "F1", AT, code=Code.OK)
    assert parse_response(render(head, confirm), Trancode.CONFIRM).body == confirm


def test_a_query_total_must_add_up() -> None:
    bills = QueryAnswer(
        "0112345678", "", "", (BillItem("B1", "202610", 100, 5, date(2026, 11, 30)),), 100
    )
    head = Head(Trancode.QUERY, "BJWATER", "Q1", AT, code=Code.OK)
    with pytest.raises(ProtocolError, match="not the sum"):
        parse_response(render(head, bills), Trancode.QUERY)


def test_an_error_answer_has_no_body_to_read() -> None:
    xml = render(HEAD.answer(Code.BUSY, "busy", AT))
    message = parse_response(xml, Trancode.CHARGE)
    assert (message.head.code, message.body) == (Code.BUSY, None)


XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<message><head><version>1.0</version><trancode>query</trancode><platform>UTILIPAY</platform>
<biller>BJWATER</biller><serial>Q1</serial><time>20261122153000</time></head>
<body><account>&xxe;</account></body></message>"""
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><message><head/><body>&lol9;</body></message>"
)
GOOD = render(Head(Trancode.QUERY, "BJWATER", "Q1", AT), None)


@pytest.mark.parametrize(
    ("xml", "needle"),
    [
        (XXE, "DTDForbidden"),
        (LAUGHS, "DTDForbidden"),
        (GOOD[: len(GOOD) // 2], "not well-formed"),
        (GOOD.replace(b"UTF-8", b"GBK"), "not GBK"),
        ("<message>中文</message>".encode("gbk"), "not UTF-8"),
        (b"\xef\xbb\xbf" + b"\xff\xfe", "not UTF-8"),
        (b"", "not well-formed"),
        (b"<html><body>nginx 502</body></html>", "root must be <message>"),
        (GOOD.replace(b"<trancode>query</trancode>", b""), "<trancode> is missing"),
        (GOOD.replace(b"<trancode>query", b"<trancode>pay"), "not one of"),
        (GOOD.replace(b"20261122153000", b"2026-11-22 15:30"), "yyyyMMddHHmmss"),
        (GOOD.replace(b"<body></body>", b""), "<body> is missing"),
    ],
)
def test_hostile_and_broken_requests_are_8002(xml: bytes, needle: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_request(xml)
    assert caught.value.code is Code.MALFORMED
    assert needle in caught.value.detail


@pytest.mark.parametrize(
    ("replace", "needle"),
    [
        ((b"<amount>12345</amount>", b"<amount>123.45</amount>"), "whole number of fen"),
        ((b"<amount>12345</amount>", b"<amount>-1</amount>"), "whole number of fen"),
        ((b"<amount>12345</amount>", b""), "<amount> is missing"),
        ((b"<billnos><billno>B202610-0001</billno></billnos>", b"<billnos/>"), "<billno>"),
        ((b"<orderno>P01TEST</orderno>", b"<orderno><x>1</x></orderno>"), "text, not elements"),
        ((b"<paytime>20261122153000</paytime>", b"<paytime>20261322153000</paytime>"), "paytime"),
    ],
)
def test_ill_typed_fields_are_8002(replace: tuple[bytes, bytes], needle: str) -> None:
    xml = render(HEAD, CHARGE).replace(*replace)
    with pytest.raises(ProtocolError) as caught:
        parse_request(xml)
    assert caught.value.code is Code.MALFORMED
    assert needle in caught.value.detail


def test_unknown_elements_are_ignored() -> None:
    xml = render(HEAD, CHARGE).replace(b"<channel>", b"<extra>v2 field</extra><channel>")
    assert parse_request(xml).body == CHARGE


@given(st.binary(max_size=600))
def test_no_byte_string_crashes_the_parser(data: bytes) -> None:
    try:
        parse_request(data)
        parse_response(data, Trancode.CHARGE)
    except ProtocolError as exc:
        assert exc.code is Code.MALFORMED


@given(st.binary(max_size=200))
def test_no_byte_string_passes_a_signature_check_by_accident(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        unframe(SignType.HMAC_SHA256, [KEY], data)
