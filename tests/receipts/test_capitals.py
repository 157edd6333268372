"""The amount in Chinese capitals, against two independent conversions: cn2an's ``rmb`` mode
(a maintained library, a test dependency only) and a parser that reads the capitals back
into fen; and against the examples of the People's Bank's filling rules."""

from __future__ import annotations

import re

import cn2an
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from utilipay.receipts.capitals import MAX_FEN, rmb_capitals

DIGIT = {c: n for n, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
SMALL = {"拾": 10, "佰": 100, "仟": 1000}
SECTION = {"万": 10**4, "亿": 10**8}
# the shape every amount has: yuan (digits with units), then 角 and/or 分, or 整
NONZERO = "[壹贰叁肆伍陆柒捌玖]"
SHAPE = re.compile(
    rf"^(?:(?:{NONZERO}|零|拾|佰|仟|万|亿)+元)?(?:{NONZERO}角)?(?:零?{NONZERO}分)?整?$"
)


def read_back(capitals: str) -> int:
    """Fen from capitals, read left to right as a cashier would: a digit waits for its unit,
    a section unit closes the section, 元 closes the yuan."""
    fen = yuan = section = digit = 0
    for char in capitals:
        if char in DIGIT:
            digit = DIGIT[char]
        elif char in SMALL:
            section += digit * SMALL[char]
            digit = 0
        elif char in SECTION:
            yuan += (section + digit) * SECTION[char]
            section = digit = 0
        elif char == "元":
            yuan += section + digit
            section = digit = 0
        elif char == "角":
            fen += digit * 10
            digit = 0
        elif char == "分":
            fen += digit
            digit = 0
        else:
            assert char == "整", f"unexpected {char!r} in {capitals}"
    return yuan * 100 + fen


def cn2an_rmb(fen: int) -> str:
    return str(cn2an.an2cn(f"{fen // 100}.{fen % 100:02d}", "rmb"))


# 《正确填写票据和结算凭证的基本规定》 (银发〔1997〕393号), item 3, and the examples
BANKING_GUIDE = [
    (140950, "壹仟肆佰零玖元伍角"),  # 3(1): a zero between digits is 零
    (600714, "陆仟零柒元壹角肆分"),  # 3(2): several zeros, one 零
    (168032, "壹仟陆佰捌拾元叁角贰分"),  # 3(3): 元位 zero, 角位 not: 零 may be left out
    (10700053, "壹拾万柒仟元伍角叁分"),  # 3(3): 万位 zero, 仟位 not
    (1640902, "壹万陆仟肆佰零玖元零贰分"),  # 3(4): 角位 zero, 分位 not: 零 after 元
    (32504, "叁佰贰拾伍元零肆分"),  # 3(4)
    (12345, "壹佰贰拾叁元肆角伍分"),
    (10000, "壹佰元整"),  # 2: ends at 元, then 整
    (10005, "壹佰元零伍分"),
    (1000, "壹拾元整"),  # 拾 always with its digit
    (0, "零元整"),
    (5, "伍分"),
    (50, "伍角"),
    (10000000001, "壹亿元零壹分"),
    (10000000100, "壹亿零壹元整"),
    (10001000000, "壹亿零壹万元整"),
    (1000000000000, "壹佰亿元整"),
]


@pytest.mark.parametrize(("fen", "capitals"), BANKING_GUIDE)
def test_the_banking_guides_examples(fen: int, capitals: str) -> None:
    assert rmb_capitals(fen) == capitals


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=0, max_value=10**12))
@example(10**12)
@example(0)
@example(MAX_FEN)
def test_every_amount_reads_back_and_agrees_with_cn2an(fen: int) -> None:
    capitals = rmb_capitals(fen)
    assert read_back(capitals) == fen
    assert SHAPE.match(capitals), capitals
    assert "零零" not in capitals and not capitals.endswith("零")
    assert capitals.endswith("整") == (fen % 100 == 0)  # 整 after 元 only, never after 角/分
    if fen <= 10**12:
        assert capitals == cn2an_rmb(fen)


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=99_999_999), st.integers(min_value=0, max_value=4))
def test_amounts_dense_in_zeros_agree(digits: int, shift: int) -> None:
    """Zeros in every position (where the 零 rules bite): digits spread out with zeros."""
    spread = int("".join(d + "0" * shift for d in str(digits)))
    if spread <= 10**12:
        assert rmb_capitals(spread) == cn2an_rmb(spread)
        assert read_back(rmb_capitals(spread)) == spread


def test_every_amount_below_a_thousand_yuan_agrees() -> None:
    for fen in range(100_000):
        assert read_back(rmb_capitals(fen)) == fen
    for fen in range(0, 100_000, 7):
        assert rmb_capitals(fen) == cn2an_rmb(fen)


@pytest.mark.parametrize("fen", [-1, MAX_FEN + 1])
def test_an_amount_out_of_range_is_refused(fen: int) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        rmb_capitals(fen)
