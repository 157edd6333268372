"""A hosted biller's prepaid rules (智能交费): when a balance is LOW, how long ARREARS
lasts before supply is cut, and the pre-store reward. The prepaid engine reads them from
the biller's row at each step (``prepaid/accrual.py``, ``prepaid/cuts.py``, the top-up in
``prepaid/sql/top_up.sql``), so a change applies from the next accrual, cut pass or top-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.errors import DomainError, ErrorCode
from utilipay.money import format_yuan

HOUR = 3600
MAX_REMINDER = 1_000_000  # fen: 10,000 yuan, far above any household's warning threshold
# At least an hour between the outage warning and a cut, so the payer can still top up;
# at most 30 days, after which arrears are a debt collection matter, not a grace.
MIN_GRACE, MAX_GRACE = HOUR, 30 * 24 * HOUR
MAX_REWARD_POINTS = 100_000


@dataclass(frozen=True, slots=True)
class PrepaidSettings:
    """A biller's prepaid rules; None leaves a setting as it is."""

    reminder: int | None = None  # fen: a balance below it is LOW (the fee warning); 0: never
    cut_grace_s: int | None = None  # how long an account stays in ARREARS before a cut
    reward_points: int | None = None  # points of the pre-store reward; 0: no reward
    reward_min: int | None = None  # fen: the smallest top-up that earns it


# setting → the biller's column (and Biller attribute)
COLUMNS = {
    "reminder": "prepaid_reminder",
    "cut_grace_s": "prepaid_cut_grace_s",
    "reward_points": "prepaid_reward_points",
    "reward_min": "prepaid_reward_min",
}


def _bad(detail: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, detail)


def _check(name: str, value: int, low: int, high: int, unit: str) -> None:
    if not low <= value <= high:
        if unit == "fen":
            shown = f"{low} to {high} fen ({format_yuan(low)} to {format_yuan(high)} yuan)"
        elif unit == "s":
            shown = f"{low // HOUR} to {high // HOUR} hours"
        else:
            shown = f"{low} to {high}"
        given = f"{value} {unit}".rstrip()
        raise _bad(f"the prepaid {name} must be {shown}, not {given}")


def prepaid_changes(biller: Biller, settings: PrepaidSettings) -> dict[str, int]:
    """The biller columns ``settings`` change, each checked; refused for a remote biller
    (its balances, if any, are kept by the utility)."""
    given = {k: getattr(settings, k) for k in COLUMNS if getattr(settings, k) is not None}
    if given and biller.mode is not IntegrationMode.HOSTED:
        raise _bad(f"biller {biller.code} is remote: prepaid accounts are for hosted billers")
    limits: dict[str, tuple[int, int, str]] = {
        "reminder": (0, MAX_REMINDER, "fen"),
        "cut_grace_s": (MIN_GRACE, MAX_GRACE, "s"),
        "reward_points": (0, MAX_REWARD_POINTS, ""),
        # a threshold above the largest payment could never be reached
        "reward_min": (1, biller.max_payment, "fen"),
    }
    for name, value in given.items():
        low, high, unit = limits[name]
        _check(name.removesuffix("_s").replace("_", " "), value, low, high, unit)
    return {COLUMNS[k]: v for k, v in given.items()}


def prepaid_json(biller: Biller) -> dict[str, Any]:
    return {"biller": biller.code, **{k: getattr(biller, c) for k, c in COLUMNS.items()}}
