"""The simulated channel's state and behaviour, without HTTP: what tests and the demo drive.

Outcomes and webhook failures can be switched while it serves; the switch
applies to debit pairs not seen before (a pair already answered keeps its answer).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from utilipay.clock import Clock, SystemClock
from utilipay_tools.channelsim.auth import HubVerifier
from utilipay_tools.channelsim.debits import DebitAnswer, DebitBook, DebitRequest, LedgerEntry
from utilipay_tools.channelsim.inbox import Delivered, Inbox, Message
from utilipay_tools.channelsim.outcomes import Outcome, OutcomePlan


@dataclass(frozen=True, slots=True)
class ChannelSimConfig:
    secret: str  # the channel's secret at the hub: the hub signs its requests with it
    previous_secret: str | None = None  # still accepted during a rotation
    outcomes: OutcomePlan = field(default_factory=OutcomePlan)
    timeout_delay: float = 15.0  # seconds a ``timeout`` answer is held: past any sane timeout
    settle_after: int = 1  # lookups of a PROCESSING debit until one answers SUCCEEDED
    fail_webhooks: int = 0  # the first N webhook deliveries are refused (503)
    base: str = ""  # path prefix of every route, e.g. "/wallet"
    # the payer pages' cashier and "open in app" (cashier.py): where the hub is, and as which
    # channel this one calls it
    hub_url: str | None = None
    channel_code: str = "WECHAT"

    def __post_init__(self) -> None:
        if not self.secret:  # an empty secret signs nothing: anyone could ask for money
            raise ValueError("the secret must not be empty")
        if self.timeout_delay < 0:
            raise ValueError(f"timeout_delay must be 0 or more, not {self.timeout_delay}")
        if self.settle_after < 1:
            raise ValueError(f"settle_after must be 1 or more, not {self.settle_after}")
        if self.fail_webhooks < 0:
            raise ValueError(f"fail_webhooks must be 0 or more, not {self.fail_webhooks}")
        if self.base and (not self.base.startswith("/") or self.base.endswith("/")):
            raise ValueError(f"base {self.base!r} must start with '/' and not end with one")


class ChannelSim:
    def __init__(self, config: ChannelSimConfig, clock: Clock | None = None) -> None:
        clock = clock or SystemClock()
        self.clock = clock
        self.config = config
        self.outcomes = config.outcomes  # replaced whole, so a request sees one plan
        self.verifier = HubVerifier(config.secret, config.previous_secret, clock)
        self.book = DebitBook(clock, config.settle_after)
        self.inbox = Inbox(clock, config.fail_webhooks)

    async def debit(self, request: DebitRequest) -> DebitAnswer:
        outcome = self.outcomes.outcome_for(request.funding_source)
        answer, first = self.book.take(request, outcome)
        if first and outcome is Outcome.TIMEOUT:
            await asyncio.sleep(self.config.timeout_delay)
        return answer

    def look_up(self, debit_id: str, funding_source: str) -> DebitAnswer:
        return self.book.look_up(debit_id, funding_source)

    def ledger(self) -> tuple[LedgerEntry, ...]:
        """Every debit that took money, in the order taken."""
        return self.book.ledger()

    def taken_twice(self) -> list[str]:
        return self.book.taken_twice()

    def fail_next_webhooks(self, deliveries: int) -> None:
        self.inbox.fail_next(deliveries)

    def messages(self, *, payer: str | None = None, order_id: str | None = None) -> list[Message]:
        return self.inbox.messages(payer=payer, order_id=order_id)

    def delivered(self) -> Delivered:
        return self.inbox.delivered()
