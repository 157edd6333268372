"""``utilipay bench recon``: matching and classifying a day of N payments against N lines.

For each size, a day is generated inside DuckDB (not timed): N hub payments
spread over 2026-11-22 (Asia/Shanghai), the channel's statement of N lines, and
— for the tenth of the payments that belong to a remote biller — the utility's
statement. One record in a thousand is a break, the breaks spread evenly over
seven kinds: a failed payment the channel took money for, a channel order the hub
never saw (both 长款), a payment missing from the channel's statement (短款), a
wrong amount, a write-off missing at the utility, an order twice on the
statement, and a payment at 23:59:50 that the channel booked after midnight
(carried). The timed part is exactly what a run does in DuckDB: group the
statements, join the three books and classify every record (``Matcher.classify``);
the counts per class are then checked against what was injected. Writing the
records out as CSV for PostgreSQL is timed separately.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from utilipay.recon.carry import Window
from utilipay.recon.classify import Class
from utilipay.recon.engine import Matcher
from utilipay_tools.bench.payments import machine

DAY = date(2026, 11, 22)
KINDS = 7  # break kinds, in the order of the module's docstring
EVERY = 1000  # one record in EVERY is a break

# kind of record i: -1 an ordinary payment, 0..6 a break (see the module docstring)
_KIND = f"CASE WHEN i % {EVERY} = 0 THEN (i // {EVERY}) % {KINDS} ELSE -1 END"
_GENERATE = f"""
CREATE TEMP TABLE gen AS
SELECT i, {_KIND} AS kind, CASE WHEN i % 10 = 0 THEN 2 ELSE 1 END AS biller_id,
       'P' || lpad(CAST(i AS VARCHAR), 12, '0') AS payment_id,
       'WX' || lpad(CAST(i AS VARCHAR), 14, '0') AS order_id,
       CAST(100 + (i * 7919) % 50000 AS BIGINT) AS amount,
       TIMESTAMP '2026-11-21 16:00:00' + to_microseconds(CAST(i * {{span}} AS BIGINT)) AS ts
  FROM range({{n}}) r(i);
UPDATE gen SET ts = TIMESTAMP '2026-11-22 15:59:50' WHERE kind = 5;
INSERT INTO hub
SELECT biller_id, payment_id, 'WECHAT', order_id, amount,
       CASE WHEN kind = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END, ts, 0,
       CASE WHEN ts >= TIMESTAMP '2026-11-22 15:45:00' THEN 1
            WHEN ts < TIMESTAMP '2026-11-21 16:15:00' THEN -1 ELSE 0 END
  FROM gen WHERE kind <> 6;
INSERT INTO chan
SELECT 'WECHAT', order_id, amount + CASE WHEN kind = 2 THEN 1 ELSE 0 END, 'PAID',
       CASE WHEN kind = 5 THEN TIMESTAMP '2026-11-22 16:00:20' ELSE ts END,
       CASE WHEN kind = 5 THEN 1 ELSE 0 END, 0, '1:' || CAST(i + 1 AS VARCHAR)
  FROM gen WHERE kind <> 1;
INSERT INTO chan
SELECT 'WECHAT', order_id, amount, 'PAID', ts, 0, 0, '1:' || CAST({{n}} + i AS VARCHAR)
  FROM gen WHERE kind = 4;
INSERT INTO util
SELECT biller_id, payment_id, amount, 'PAID', ts, 0,
       CASE WHEN kind = 5 THEN 1 ELSE 0 END, '2:' || CAST(i AS VARCHAR)
  FROM gen WHERE biller_id = 2 AND kind NOT IN (0, 3, 6);
INSERT INTO three_way VALUES (2);
DROP TABLE gen;
"""  # noqa: S608


@dataclass(frozen=True, slots=True)
class SizeResult:
    rows: int
    hub_payments: int
    channel_lines: int
    utility_lines: int
    generate_seconds: float
    match_seconds: float
    export_seconds: float
    counts: dict[str, int]
    expected: dict[str, int]

    @property
    def correct(self) -> bool:
        return self.counts == self.expected

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "hub_payments": self.hub_payments,
            "channel_lines": self.channel_lines,
            "utility_lines": self.utility_lines,
            "generate_seconds": round(self.generate_seconds, 2),
            "match_seconds": round(self.match_seconds, 2),
            "export_seconds": round(self.export_seconds, 2),
            "counts": self.counts,
            "correct": self.correct,
        }


@dataclass
class BenchResult:
    sizes: list[SizeResult] = field(default_factory=list)
    machine: dict[str, str] = field(default_factory=machine)

    def as_json(self) -> dict[str, Any]:
        return {"machine": self.machine, "sizes": [s.as_json() for s in self.sizes]}


def expected_counts(n: int) -> dict[str, int]:
    """What the injected breaks must classify as."""
    per_kind = [sum(1 for i in range(0, n, EVERY) if (i // EVERY) % KINDS == k) for k in range(7)]
    found = {
        Class.CHANNEL_ONLY: per_kind[0] + per_kind[6],
        Class.HUB_ONLY: per_kind[1],
        Class.AMOUNT_MISMATCH: per_kind[2],
        Class.STATUS_MISMATCH: per_kind[3],
        Class.DUPLICATE: per_kind[4],
        Class.CARRIED: per_kind[5],
    }
    found[Class.MATCHED] = n - sum(found.values())
    return {str(k): v for k, v in found.items() if v}


def run_size(n: int, workdir: Path, *, threads: int = 2) -> SizeResult:
    matcher = Matcher(Window(DAY), workdir, threads=threads)
    try:
        began = time.perf_counter()
        # spread the N payments over the day's 86,400 s (in microseconds)
        matcher.db.execute(_GENERATE.format(n=int(n), span=86_400_000_000 / n))
        generated = time.perf_counter()
        counts = matcher.classify(scoped=False)
        matched = time.perf_counter()
        matcher.export_items(1, workdir / "items.csv")
        exported = time.perf_counter()
        return SizeResult(
            rows=n,
            hub_payments=matcher.count("hub"),
            channel_lines=matcher.count("chan"),
            utility_lines=matcher.count("util"),
            generate_seconds=generated - began,
            match_seconds=matched - generated,
            export_seconds=exported - matched,
            counts=counts,
            expected=expected_counts(n),
        )
    finally:
        matcher.close()


def parse_sizes(spec: str) -> list[int]:
    """``--rows 1000000,3000000,10000000`` (underscores allowed): the sizes to run."""
    try:
        sizes = [int(part.replace("_", "")) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--rows takes numbers separated by commas, not {spec!r}") from None
    if not sizes or min(sizes) < EVERY * KINDS:
        raise ValueError(f"each size must be at least {EVERY * KINDS:,} (a break of every kind)")
    return sizes


def run(sizes: list[int], say: Callable[[str], None] = print, threads: int = 2) -> BenchResult:
    result = BenchResult()
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="utilipay-bench-recon-") as tmp:
            say(f"{n:,} payments against {n:,} statement lines …")
            size = run_size(n, Path(tmp), threads=threads)
            say(f"  matched and classified in {size.match_seconds:.1f} s; correct: {size.correct}")
            result.sizes.append(size)
    return result
