"""The channel's side of the campaign: payments sent the way a careful wallet sends them.

Each payment is sent until the hub answers it: a 5xx or a broken connection
(the hub restarting, the database down) is retried after a pause with the
same order id and body and a fresh nonce, which is what idempotency is for.
A few payments race a twin order for the same bills, and a few carry a wrong
amount, so refusals and conflicts happen under faults too. A share of the payments is
taken at the terminals of an agent channel's outlets, from their floats, and some of those
are voided at once by the outlet (channel-api.md §11), retried the same way.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from utilipay_tools.client import ChannelClient, TerminalClient

RETRY_PAUSE = (0.2, 1.0)
MAX_TRIES = 200


@dataclass(frozen=True, slots=True)
class PlannedPayment:
    order_id: str
    account: str
    bill_nos: tuple[str, ...]
    amount: int
    terminal: int | None = None  # which of the campaign's terminals takes it, if one does
    void: bool = False  # the outlet voids it once it succeeded


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


OPERATOR = "OP1"  # every campaign outlet's operator


async def _until_answered(
    client: ChannelClient, path: str, body: dict[str, Any], report: LoadReport
) -> httpx.Response | None:
    """Send until the hub answers (not 5xx, not a broken connection), a fresh nonce each
    time; None when it never did."""
    for _ in range(MAX_TRIES):
        try:
            response = await client.call("POST", path, json=body)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code < 500:
            return response
        report.retries += 1
        await asyncio.sleep(random.uniform(*RETRY_PAUSE))  # noqa: S311
    return None


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
    if payment.terminal is not None:
        body["operator"] = OPERATOR
    response = await _until_answered(client, "/v1/payments", body, report)
    if response is None:
        report.unanswered.append(payment.order_id)
        return
    answer = response.json()
    report.count(f"{response.status_code} {answer.get('code') or answer['status']}")
    report.sent += 1
    if payment.void and answer.get("status") == "SUCCEEDED":
        await _void(client, answer["id"], payment.order_id, report)


async def _void(client: ChannelClient, payment_id: str, order_id: str, report: LoadReport) -> None:
    body = {"operator": OPERATOR, "reason": "the payer chose the wrong bill"}
    response = await _until_answered(client, f"/v1/payments/{payment_id}/void", body, report)
    if response is None:
        report.unanswered.append(f"void of {order_id}")
        return
    answer = response.json()
    report.count(f"void {response.status_code} {answer.get('code') or answer['status']}")


async def run_load(
    base_url: str,
    channel: str,
    secret: str,
    biller: str,
    payments: list[PlannedPayment],
    concurrency: int,
    report: LoadReport,
    terminals: Sequence[tuple[str, str, str]] = (),
) -> LoadReport:
    """Send every payment; ``report`` fills in as answers come (the campaign watches it).
    ``terminals``: (channel, terminal id, secret) of the outlets' terminals."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        client = ChannelClient(http, channel, secret)
        at_outlets = [TerminalClient(http, *terminal) for terminal in terminals]

        async def one(payment: PlannedPayment) -> None:
            chosen = client if payment.terminal is None else at_outlets[payment.terminal]
            async with gate:
                await _send(chosen, biller, payment, report)

        await asyncio.gather(*(one(p) for p in payments))
    return report
