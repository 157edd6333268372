"""Pure rules: account numbers, money, amounts, fingerprints (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utilipay.billers.rules import AccountRule
from utilipay.errors import DomainError, ErrorCode
from utilipay.money import MAX_FEN, format_yuan, parse_fen
from utilipay.payments.rules import request_fingerprint

BEIJING_WATER = AccountRule.parse(r"(0[1-9]|25)\d{8}", "10 digits, starts with 01-09 or 25")


@pytest.mark.parametrize("account", ["0112345678", "0998765432", "2500000000"])
def test_beijing_water_accounts(account: str) -> None:
    assert BEIJING_WATER.accepts(account)


@pytest.mark.parametrize(
    "account",
    ["0012345678", "1012345678", "2612345678", "011234567", "01123456789", "０１12345678", ""],
)
def test_not_beijing_water_accounts(account: str) -> None:
    assert not BEIJING_WATER.accepts(account)
    with pytest.raises(DomainError) as caught:
        BEIJING_WATER.check("BJWATER", account)
    assert caught.value.code is ErrorCode.INVALID_ACCOUNT


def test_a_rule_must_be_a_regex() -> None:
    with pytest.raises(DomainError, match="not a regex"):
        AccountRule.parse("([0-9]")


@given(st.integers(min_value=-MAX_FEN, max_value=MAX_FEN))
def test_fen_written_as_text_reads_back(fen: int) -> None:
    assert parse_fen(str(fen)) == fen


@given(st.integers(min_value=0, max_value=10**15))
def test_yuan_formatting_keeps_every_fen(fen: int) -> None:
    yuan, cents = format_yuan(fen).replace(",", "").split(".")
    assert int(yuan) * 100 + int(cents) == fen


def test_yuan_formatting_examples() -> None:
    assert format_yuan(12345) == "123.45"
    assert format_yuan(5) == "0.05"
    assert format_yuan(-5) == "-0.05"
    assert format_yuan(123456789) == "1,234,567.89"


@pytest.mark.parametrize("text", ["1.5", "1e3", "", " ", "+-1", "½", "١٢"])
def test_amounts_in_files_are_whole_fen(text: str) -> None:
    with pytest.raises(ValueError, match="whole number"):
        parse_fen(text)


def test_the_fingerprint_ignores_bill_order_but_not_content() -> None:
    base = request_fingerprint("BJWATER", "0112345678", 100, ("B1", "B2"), "p")
    assert base == request_fingerprint("BJWATER", "0112345678", 100, ("B2", "B1"), "p")
    assert base != request_fingerprint("BJWATER", "0112345678", 101, ("B1", "B2"), "p")
    assert base != request_fingerprint("BJWATER", "0112345678", 100, None, "p")
    assert base != request_fingerprint("BJWATER", "0112345678", 100, ("B1", "B2"), "q")
