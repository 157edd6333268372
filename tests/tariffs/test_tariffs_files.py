"""Tariff files: exact numbers, and every problem named by file and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from utilipay.tariffs.files import TariffFileRejected, builtin_tariffs, parse_tariffs, read_tariffs
from utilipay.tariffs.model import BandPeriod, Register, Unit

HEAD = """
[[tariff]]
code = "T1"
name = "test tariff"
unit = "kWh"

[[tariff.version]]
effective_from = 2026-01-01
band_period = "month"
"""


def problems(body: str, head: str = HEAD) -> list[str]:
    with pytest.raises(TariffFileRejected) as caught:
        parse_tariffs((head + body).encode(), "t.toml")
    assert caught.value.detail.startswith("t.toml: ")
    assert "nothing loaded" in caught.value.detail
    return caught.value.problems


def test_the_built_in_tariffs() -> None:
    found = {t.code: t for t in builtin_tariffs()}
    assert set(found) == {"BJ_ELEC_RES", "BJ_ELEC_RES_YEAR", "BJ_WATER_RES"}
    water = found["BJ_WATER_RES"]
    assert water.unit is Unit.M3
    (version,) = water.versions
    assert version.band_period is BandPeriod.YEAR
    assert [(b.lower, b.upper, b.price) for b in version.blocks] == [
        (Decimal(0), Decimal(180), Decimal(5)),
        (Decimal(180), Decimal(260), Decimal(7)),
        (Decimal(260), None, Decimal(9)),
    ]


def test_numbers_are_exact_decimals_and_quoted_ones_too() -> None:
    (tariff,) = parse_tariffs(
        (
            HEAD
            + 'blocks = [{ up_to = 240.5, price = 0.4883 }, { price = "0.1" }]\n'
            + "rates = { peak = 0.5583, flat = 0.4883, valley = 0.3 }\n"
            + "fixed_monthly_fen = 150\n"
        ).encode(),
        "t.toml",
    )
    (v,) = tariff.versions
    assert [(b.upper, b.price) for b in v.blocks] == [
        (Decimal("240.5"), Decimal("0.4883")),
        (None, Decimal("0.1")),
    ]
    assert v.rates == (
        (Register.PEAK, Decimal("0.5583")),
        (Register.FLAT, Decimal("0.4883")),
        (Register.VALLEY, Decimal("0.3")),
    )
    assert v.fixed_monthly == 150


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "blocks = [{ up_to = 240 }, { price = 1 }]",
            "tariff[1] T1 / version[1] 2026-01-01 / blocks[1] / price: Field required",
        ),
        (
            "blocks = [{ price = 0.48831 }]",
            "blocks[1] / price: Decimal input should have no more than 4 decimal places",
        ),
        ("blocks = [{ price = -1 }]", "price: Input should be greater than or equal to 0"),
        ("blocks = [{ price = nan }]", "price: Input should be a finite number"),
        ("blocks = [{ up_to = 10, price = 1 }]", "the last block takes everything above"),
        (
            "blocks = [{ up_to = 10, price = 1 }, { up_to = 5, price = 1 }, { price = 1 }]",
            "block up_to must increase: 10, 5",
        ),
        ("blocks = [{ price = 1 }, { price = 2 }]", "every block but the last needs an up_to"),
        ("", "a version needs blocks, rates or both"),
        ("rates = { peak = 1, valley = 0.5 }", "rates must price every register"),
        (
            "blocks = [{ price = 1, colour = 2 }]",
            "blocks[1] / colour: Extra inputs are not permitted",
        ),
        (
            "blocks = [{ price = 1 }]\nfixed_monthly_fen = 1.5",
            "fixed_monthly_fen: Input should be a valid integer",
        ),
    ],
)
def test_a_bad_version_is_named_by_field(body: str, problem: str) -> None:
    found = problems(body)
    assert len(found) == 1
    assert problem in found[0]


def test_bad_tariffs_are_named_and_all_reported() -> None:
    found = problems(
        """
[[tariff]]
code = "lower-case"
name = "x"
unit = "kW"
[[tariff.version]]
effective_from = 2026-01-01
band_period = "week"
blocks = [{ price = 1 }]
""",
        head="",
    )
    assert any(p.startswith("tariff[1] lower-case / code: String should match") for p in found)
    assert any("tariff[1] lower-case / unit: Input should be 'kWh' or 'm3'" in p for p in found)
    assert any(
        "version[1] 2026-01-01 / band_period: Input should be 'month' or 'year'" in p for p in found
    )


def test_repeated_codes_and_dates_are_refused() -> None:
    tariff, version = HEAD.split("[[tariff.version]]", maxsplit=1)
    version = f"[[tariff.version]]{version}blocks = [{{ price = 1 }}]\n"
    assert problems(version + version, tariff) == [
        "tariff[1] T1: two versions take effect on the same day"
    ]
    assert problems(tariff + version, tariff + version) == ["the file: tariff code repeated: T1"]


def test_not_toml_not_utf8_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(TariffFileRejected, match=r"not TOML: .*\(at line 3, column"):
        parse_tariffs(b"[[tariff]]\ncode = 'A'\nname = \n", "t.toml")
    with pytest.raises(TariffFileRejected, match="line 2: not UTF-8 text"):
        parse_tariffs(b"[[tariff]]\ncode = '\xff'\n", "t.toml")
    with pytest.raises(
        TariffFileRejected,
        match=r"missing.toml: 1 problem\(s\), nothing loaded\ncannot read: No such file",
    ):
        read_tariffs(tmp_path / "missing.toml")
    with pytest.raises(TariffFileRejected, match="tariff: Field required"):
        parse_tariffs(b"", "t.toml")
