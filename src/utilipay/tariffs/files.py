"""Tariff files: TOML read with ``tomllib``, checked by pydantic, every problem named by field.

```toml
[[tariff]]
code = "BJ_ELEC_RES"            # 2-32 of A-Z 0-9 _
name = "北京市居民生活用电"
unit = "kWh"                    # or "m3"

[[tariff.version]]
effective_from = 2012-07-01
band_period = "month"           # or "year": cumulative over the calendar year
fixed_monthly_fen = 0           # optional, fen per month
blocks = [                      # up_to: the band's cumulative upper bound; the last has none
    { up_to = 240, price = 0.4883 },
    { up_to = 400, price = 0.5383 },
    { price = 0.7883 },
]
# rates = { peak = 0.5583, flat = 0.4883, valley = 0.3 }  # then block prices are adders
```

Numbers are read as exact decimals (``parse_float=Decimal``): a price written
``0.4883`` is 0.4883, never the nearest binary float.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from utilipay.common.validation import PRINTABLE
from utilipay.errors import DomainError, ErrorCode
from utilipay.tariffs.model import (
    PRICE_PLACES,
    UNIT_PLACES,
    BandPeriod,
    Register,
    Tariff,
    TariffVersion,
    Unit,
    blocks_from_bounds,
    canonical_rates,
)

MAX_BLOCKS = 10
MAX_FIXED_MONTHLY = 10_000_000  # 100,000 yuan a month: more is a typo
MAX_REPORTED = 50

Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=PRICE_PLACES)]
Bound = Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=UNIT_PLACES)]


class TariffFileRejected(DomainError):
    """A tariff file with problems; nothing of it was loaded."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        shown = "\n".join(problems[:MAX_REPORTED])
        hidden = len(problems) - MAX_REPORTED
        more = f"\n… and {hidden} more" if hidden > 0 else ""
        super().__init__(
            ErrorCode.MALFORMED_REQUEST,
            f"{source}: {len(problems)} problem(s), nothing loaded\n{shown}{more}",
        )
        self.problems = list(problems)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BlockIn(_Strict):
    up_to: Bound | None = None
    price: Price


class VersionIn(_Strict):
    effective_from: date
    band_period: BandPeriod
    blocks: list[BlockIn] = Field(default_factory=list, max_length=MAX_BLOCKS)
    rates: dict[Register, Price] = Field(default_factory=dict)
    fixed_monthly_fen: int = Field(default=0, ge=0, le=MAX_FIXED_MONTHLY)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.rates and set(self.rates) != set(Register):
            raise ValueError("rates must price every register: peak, flat and valley")
        if not self.blocks and not self.rates:
            raise ValueError("a version needs blocks, rates or both")
        if self.blocks:
            _check_blocks(self.blocks)
        return self


def _check_blocks(blocks: list[BlockIn]) -> None:
    *inner, last = blocks
    if any(b.up_to is None for b in inner):
        raise ValueError("every block but the last needs an up_to")
    if last.up_to is not None:
        raise ValueError("the last block takes everything above: it has no up_to")
    bounds = [b.up_to for b in inner if b.up_to is not None]
    if any(high <= low for low, high in pairwise(bounds)):
        raise ValueError(f"block up_to must increase: {', '.join(map(str, bounds))}")


class TariffIn(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9_]{2,32}$")
    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    unit: Unit
    version: list[VersionIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_version_a_day(self) -> Self:
        dates = [v.effective_from for v in self.version]
        if len(set(dates)) != len(dates):
            raise ValueError("two versions take effect on the same day")
        return self


class TariffFile(_Strict):
    tariff: list[TariffIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_unique(self) -> Self:
        codes = [t.code for t in self.tariff]
        if repeated := sorted({c for c in codes if codes.count(c) > 1}):
            raise ValueError(f"tariff code repeated: {', '.join(repeated)}")
        return self


def _version(tariff: TariffIn, v: VersionIn) -> TariffVersion:
    return TariffVersion(
        code=tariff.code,
        effective_from=v.effective_from,
        unit=tariff.unit,
        band_period=v.band_period,
        blocks=blocks_from_bounds([(b.up_to, b.price) for b in v.blocks]),
        rates=canonical_rates(v.rates),
        fixed_monthly=v.fixed_monthly_fen,
    )


def _tariff(t: TariffIn) -> Tariff:
    versions = sorted((_version(t, v) for v in t.version), key=lambda v: v.effective_from)
    return Tariff(t.code, t.name, t.unit, tuple(versions))


def _where(raw: Any, loc: tuple[int | str, ...]) -> str:
    """``tariff[1] BJ_ELEC_RES / version[2] 2012-07-01 / blocks[3].price`` from a pydantic loc."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            parts[-1] += f"[{key + 1}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            label = _label(node)
            if label:
                parts[-1] += f" {label}"
        else:
            parts.append(key)
            node = node.get(key) if isinstance(node, Mapping) else None
    return " / ".join(parts) or "the file"


def _label(node: Any) -> str:
    if not isinstance(node, Mapping):
        return ""
    return str(node.get("code") or node.get("effective_from") or "")


def _problem(raw: Any, error: Any) -> str:
    message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    return f"{_where(raw, tuple(error['loc']))}: {message}"


def parse_tariffs(data: bytes, source: str) -> list[Tariff]:
    try:
        raw = tomllib.loads(data.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TariffFileRejected(source, [f"line {line}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise TariffFileRejected(source, [f"not TOML: {exc}"]) from None
    try:
        checked = TariffFile.model_validate(raw)
    except ValidationError as exc:
        raise TariffFileRejected(source, [_problem(raw, e) for e in exc.errors()]) from None
    return [_tariff(t) for t in checked.tariff]


def read_tariffs(path: Path) -> list[Tariff]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TariffFileRejected(str(path), [f"cannot read: {exc.strerror}"]) from None
    return parse_tariffs(data, str(path))


def builtin_tariffs() -> list[Tariff]:
    """The tariffs shipped with the hub (``tariffs/data/*.toml``)."""
    found: list[Tariff] = []
    data = resources.files("utilipay.tariffs") / "data"
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            found.extend(parse_tariffs(entry.read_bytes(), f"built-in {entry.name}"))
    codes = [t.code for t in found]
    if repeated := sorted({c for c in codes if codes.count(c) > 1}):
        raise TariffFileRejected("built-in tariffs", [f"code in two files: {c}" for c in repeated])
    return found
