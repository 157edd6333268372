"""An amount in Chinese capitals (人民币大写) as banks and utilities print it.

The rules are the People's Bank of China's 《支付结算办法》 annex 1, 《正确填写票据和结算凭证
的基本规定》 (银发〔1997〕393号), items 2 and 3:

- the digits 壹贰叁肆伍陆柒捌玖, the units 拾佰仟万亿, then 元角分; 拾 is always 壹拾
  (¥10 → 壹拾元整), so nothing can be written in front of it;
- an amount ending at 元 ends with 整; after 角 整 may be left out (it is), after 分 never;
- zeros between digits are one 零 (¥6007.14 → 陆仟零柒元壹角肆分);
- when the zeros end at 万位 or 元位 and 仟位 or 角位 is not zero, 零 may be written or
  not (3(3)): it is not, as the amount is read aloud (¥107000.53 → 壹拾万柒仟元伍角叁分);
  so the integer is read in sections of four digits, a section's trailing zeros silent;
- 角位 zero and 分位 not: 零 after 元 (¥325.04 → 叁佰贰拾伍元零肆分).
"""

from __future__ import annotations

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_IN_SECTION = ("", "拾", "佰", "仟")  # 个拾佰仟 within a section of four digits
_SECTIONS = ("", "万", "亿")  # one unit per section of four digits, from the right
MAX_FEN = 10**14 - 1  # 玖仟玖佰玖拾玖亿…: above it a section would need a unit of its own


def _section(number: int) -> str:
    """One section (0 < number < 10000): zeros inside or in front read as one 零 (the
    caller drops the one in front of the highest section), trailing zeros silent."""
    digits = f"{number:04d}"
    out: list[str] = []
    zeros = False
    for position, char in enumerate(digits):
        digit = int(char)
        if digit == 0:
            zeros = True
            continue
        if zeros:
            out.append("零")
        zeros = False
        out.append(_DIGITS[digit] + _IN_SECTION[3 - position])
    return "".join(out)


def _yuan(yuan: int) -> str:
    """A positive number of yuan, section by section from the highest."""
    sections: list[int] = []
    while yuan:
        yuan, section = divmod(yuan, 10000)
        sections.append(section)
    out: list[str] = []
    for index in range(len(sections) - 1, -1, -1):
        section = sections[index]
        if section == 0:
            continue
        text = _section(section)
        out.append((text if out else text.removeprefix("零")) + _SECTIONS[index])
    return "".join(out)


def rmb_capitals(fen: int) -> str:
    """``12345`` → ``壹佰贰拾叁元肆角伍分``; ``10000`` → ``壹佰元整``; ``0`` → ``零元整``."""
    if not 0 <= fen <= MAX_FEN:
        raise ValueError(f"{fen} fen is not an amount from 0 to {MAX_FEN}")
    yuan, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    if fen == 0:
        return "零元整"
    out = _yuan(yuan) + "元" if yuan else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif fen_digit and yuan:
        out += "零"
    if fen_digit:
        out += _DIGITS[fen_digit] + "分"
    return out if cents else out + "整"
