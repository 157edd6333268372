"""The world the HTTP benchmarks pay in: one channel, one hosted water utility, N accounts
each with one bill due, and requests signed before the timed phase.

Requests are written to files a load generator replays (``wrk`` with
``wrk_payments.lua``, or ``loadgen``): one line per request, tab-separated (timestamp,
nonce, signature, terminal or empty, body), ``requests-<thread>.tsv``; a directory's
requests all go to one path, written in its file ``path``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
from sqlalchemy import text
from sqlalchemy.engine import URL

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.clock import SystemClock
from utilipay.db.engine import create_engine
from utilipay.security.signing import canonical, sign

BENCH_DATABASE = "utilipay_bench"
CHANNEL = "BENCH"
SECRET = "bench-channel-secret-0123456789"  # noqa: S105 (a throwaway benchmark database)
BILLER = "BENCHWATER"
PAYMENTS_PATH = "/v1/payments"

Signer = Callable[[int], tuple[str, str]]  # request number -> (terminal id or "", secret)
Body = Callable[[int], bytes]  # request number -> its JSON body


def as_channel(n: int) -> tuple[str, str]:
    return "", SECRET


def payment_body(i: int) -> bytes:
    """Account i pays its one bill (seeded by ``seed``)."""
    return orjson.dumps(
        {
            "order_id": f"BENCH{i:09d}",
            "biller": BILLER,
            "account": f"{i:010d}",
            "amount": 100 + i % 9000,
            "bill_nos": [f"B{i}"],
            "payer": f"bench-payer-{i}",
        }
    )


async def seed(url: URL, count: int) -> None:
    """The channel, the utility, and ``count`` accounts with one bill each, due in a month:
    a bill paid on time has no late fee to compute, as most bills paid have not."""
    engine = create_engine(url, pool_size=1)
    clock = SystemClock()
    async with engine.begin() as conn:
        await channels_service.add_channel(conn, clock, code=CHANNEL, secret=SECRET, actor="bench")
        biller = await billers_service.add_biller(
            conn,
            clock,
            code=BILLER,
            name="benchmark water",
            category=Category.WATER,
            mode=IntegrationMode.HOSTED,
            account_rule=r"\d{10}",
            actor="bench",
        )
        await conn.execute(
            text(
                "INSERT INTO customer_accounts (biller_id, account_no, holder_name, created_at)"
                " SELECT :b, lpad(i::text, 10, '0'), '测试', now()"
                " FROM generate_series(1, :n) i"
            ),
            {"b": biller.id, "n": count},
        )
        await conn.execute(
            text(
                "INSERT INTO bills (biller_id, bill_no, account_no, period, amount, late_fee,"
                "                   due_date, status, issued_at)"
                " SELECT :b, 'B' || i, lpad(i::text, 10, '0'), '2026-10', 100 + i % 9000, 0,"
                "        current_date + 30, 'UNPAID', now()"
                " FROM generate_series(1, :n) i"
            ),
            {"b": biller.id, "n": count},
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        # Only the seeded tables: analysing the empty ones would record them as empty,
        # and plans cached while they grow would scan them whole until autoanalyze.
        await conn.execute(text("VACUUM ANALYZE customer_accounts, bills"))
    await engine.dispose()


def sign_requests(
    directory: Path,
    first: int,
    count: int,
    files: int,
    signer: Signer = as_channel,
    *,
    path: str = PAYMENTS_PATH,
    body_of: Body = payment_body,
) -> None:
    """Write ``count`` signed requests to ``path``, numbers ``first``.., into ``files``
    files, each signed as ``signer`` says: by the channel, or by a terminal with its own
    secret."""
    timestamp = str(int(time.time()))
    (directory / "path").write_text(path)
    handles = [(directory / f"requests-{i + 1}.tsv").open("w") for i in range(files)]
    for i in range(first, first + count):
        body = body_of(i)
        nonce = f"bench-{timestamp}-{i:09d}"
        terminal, secret = signer(i)
        signature = sign(secret, canonical("POST", path, timestamp, nonce, body))
        line = f"{timestamp}\t{nonce}\t{signature}\t{terminal}\t{body.decode()}\n"
        handles[i % files].write(line)
    for handle in handles:
        handle.close()
