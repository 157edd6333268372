"""Which events become meter commands: a prepaid cut disconnects, a restore reconnects.

``prepaid.cut`` → a disconnect, ``prepaid.restored`` → a reconnect, for every meter
installed on the account, in the dispatching transaction. The decision key is made
of our own ids — ``cut:{account}:{cuts}:{meter}`` / ``restore:{account}:{cuts}:{meter}``
(``cuts`` counts the account's cuts: a cut and the restore that ends it share it) —
so dispatching an event again finds the same command, never a second id.

Events may be dispatched late, and by concurrent workers out of order, so before
deciding, the account's row is locked (``FOR UPDATE``) and the decision is taken
only if the account still warrants it: a disconnect only while the account is in
that very cut, a reconnect only once that cut is over and no newer one began.
The lock orders the decision with the top-up or cut that changes the state, so
the per-meter sequences follow the account's history: a restore read after a
newer cut reconnects nothing, and a cut read after its restore disconnects
nothing. An event whose payload is unusable is logged and skipped, as the
notification consumers do: raising would stall the whole outbox behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import FrozenClock
from utilipay.headend.commands import decide
from utilipay.headend.config import head_end_of
from utilipay.headend.wire import Action
from utilipay.outbox.dispatch import Consumer, StoredEvent
from utilipay.prepaid import service as prepaid_service
from utilipay.prepaid.rules import State
from utilipay.readings import repository as readings_repo

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SupplyRule:
    action: Action
    key: str  # the decision key's first part
    reason: str  # wire.REASON
    # (the account's state now, its cuts now, the cuts the event speaks of) → act?
    warranted: Callable[[str, int, int], bool]


RULES: dict[str, SupplyRule] = {
    "prepaid.cut": SupplyRule(
        Action.DISCONNECT,
        "cut",
        "PREPAID_CUT",
        lambda state, cuts, of_event: state == State.CUT and cuts == of_event,
    ),
    "prepaid.restored": SupplyRule(
        Action.RECONNECT,
        "restore",
        "PREPAID_RESTORED",
        lambda state, cuts, of_event: state != State.CUT and cuts == of_event,
    ),
}


class SupplyCommands:
    """One prepaid event type → a command per installed meter, if still warranted."""

    def __init__(self, rule: SupplyRule) -> None:
        self._rule = rule

    async def __call__(self, conn: AsyncConnection, event: StoredEvent, now: datetime) -> None:
        try:
            account_no = str(event.payload["account_no"])
            cuts = int(event.payload["cuts"])
        except (KeyError, TypeError, ValueError) as exc:
            log.error("headend.event_unusable", event_id=event.id, error=repr(exc))
            return
        skip = log.bind(event_id=event.id, event_type=event.event_type, account_no=account_no)
        if await head_end_of(conn, event.biller_id) is None:
            skip.info("headend.none")  # the utility switches supply by hand
            return
        account = await prepaid_service.supply_state(conn, event.biller_id, account_no)
        if account is None or not self._rule.warranted(account.state, account.cuts, cuts):
            state = (account.state, account.cuts) if account else None
            skip.info("headend.not_warranted", now=state, event_cuts=cuts)
            return
        clock = FrozenClock(now)
        for meter_id in await readings_repo.installed_meters(
            conn, event.biller_id, account_no, now
        ):
            await decide(
                conn,
                clock,
                biller_id=event.biller_id,
                meter_id=meter_id,
                account_no=account_no,
                action=self._rule.action,
                decision_key=f"{self._rule.key}:{account_no}:{cuts}:{meter_id}",
                reason=self._rule.reason,
            )


def meter_command_consumers() -> dict[str, list[Consumer]]:
    """For the worker's ``Dispatcher``: the prepaid events that switch supply."""
    return {event_type: [SupplyCommands(rule)] for event_type, rule in RULES.items()}
