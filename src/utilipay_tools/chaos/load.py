"""The channel's side of the campaign: payments sent the way a careful wallet sends them.

Each payment is sent until the hub answers it: a 5xx or a broken connection
(the hub restarting, the database down) is retried after a pause with the
same order id and body and a fresh nonce, which is what idempotency is for.
A few payments race a twin order for the same bills, and a few carry a wrong
amount, so refusals and conflicts happen under faults too.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from utilipay_tools.client import ChannelClient

RETRY_PAUSE = (0.2, 1.0)
MAX_TRIES = 200


@dataclass(frozen=True, slots=True)
class PlannedPayment:
    order_id: str
    account: str
    bill_nos: tuple[str, ...]
    amount: int


@dataclass
class LoadReport:
    sent: int = 0
    retries: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # "201 PROCESSING", "409 …"
    unanswered: list[str] = field(default_factory=list)

    def count(self, key: str) -> None:
        self.answers[key] = self.answers.get(key, 0) + 1


def plan(bills: dict[str, list[tuple[str, int]]], rng: random.Random) -> list[PlannedPayment]:
    """One payment per account for all its bills; every 50th also raced by a twin order,
    every 100th with a wrong amount."""
    planned = []
    for n, (account, items) in enumerate(sorted(bills.items())):
        bill_nos = tuple(b for b, _ in items)
        total = sum(a for _, a in items)
        wrong = n % 100 == 99
        amount = total - 1 if wrong else total
        planned.append(PlannedPayment(f"CH{n:06d}", account, bill_nos, amount))
        if n % 50 == 49:
            planned.append(PlannedPayment(f"CH{n:06d}-TWIN", account, bill_nos, total))
    rng.shuffle(planned)
    return planned


async def _send(
    client: ChannelClient, biller: str, payment: PlannedPayment, report: LoadReport
) -> None:
    body: dict[str, Any] = {
        "order_id": payment.order_id,
        "biller": biller,
        "account": payment.account,
        "amount": payment.amount,
        "bill_nos": list(payment.bill_nos),
        "payer": f"payer-{payment.account}",
    }
    for _ in range(MAX_TRIES):
        try:
            response = await client.call("POST", "/v1/payments", json=body)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code < 500:
            answer = response.json()
            report.count(f"{response.status_code} {answer.get('code') or answer['status']}")
            report.sent += 1
            return
        report.retries += 1
        await asyncio.sleep(random.uniform(*RETRY_PAUSE))  # noqa: S311
    report.unanswered.append(payment.order_id)


async def run_load(
    base_url: str,
    channel: str,
    secret: str,
    biller: str,
    payments: list[PlannedPayment],
    concurrency: int,
    report: LoadReport,
) -> LoadReport:
    """Send every payment; ``report`` fills in as answers come (the campaign watches it)."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        client = ChannelClient(http, channel, secret)

        async def one(payment: PlannedPayment) -> None:
            async with gate:
                await _send(client, biller, payment, report)

        await asyncio.gather(*(one(p) for p in payments))
    return report
