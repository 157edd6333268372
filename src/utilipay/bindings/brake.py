"""The brakes of binding verification (channel-api.md §13): at most ``most`` of something
(SMS codes sent, wrong holder names) per key (a payer, an account, a phone) within a
sliding ``window``, counted from the rows that record them, in the database so every server
process sees the same count, as of the injected clock.

Like the voucher PIN brake (``vouchers/sql/redeem.sql``), each key's count is taken under
a transaction-scoped advisory lock on the key, so concurrent requests cannot all read the
count below the limit and all pass; the locks are taken in key order, so two requests
sharing keys cannot deadlock. A refusal says when the oldest counted row leaves the window
(``Retry-After``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.channels.schemas import Channel
from utilipay.errors import DomainError, ErrorCode


@dataclass(frozen=True, slots=True)
class Key:
    name: str  # unique among every brake's keys: it is the advisory lock's
    what: str  # in words, for the refusal: "this payer", "this account", "this phone"
    where: ColumnElement[bool]  # the rows counted against it


def payer_and_account(
    prefix: str, table: Table, channel: Channel, biller_id: int, payer: str, account_no: str
) -> list[Key]:
    """The keys of a payer (of a channel) and of an account, for a table of rows naming both."""
    c = table.c
    return [
        Key(
            f"{prefix}:payer:{channel.id}:{payer}",
            "this payer",
            (c.channel_id == channel.id) & (c.payer == payer),
        ),
        Key(
            f"{prefix}:account:{biller_id}:{account_no}",
            "this account",
            (c.biller_id == biller_id) & (c.account_no == account_no),
        ),
    ]


@dataclass(frozen=True, slots=True)
class Brake:
    table: Table
    at: str  # the column of the table saying when a row counts from
    most: int
    window: timedelta
    counted: str  # what the rows are, in words: "SMS codes", "wrong holder names"

    async def check(self, conn: AsyncConnection, now: datetime, keys: Sequence[Key]) -> None:
        """Refuse (429 RATE_LIMITED) when a key has had ``most`` rows within the window; the
        locks are held until the transaction ends, so the caller's new row counts next."""
        ordered = sorted(keys, key=lambda k: k.name)
        for key in ordered:
            lock = func.pg_advisory_xact_lock(func.hashtextextended(key.name, 0))
            await conn.execute(select(lock))
        at = self.table.c[self.at]
        for key in ordered:
            count, oldest = (
                await conn.execute(
                    select(func.count(), func.min(at)).where(key.where, at > now - self.window)
                )
            ).one()
            if count >= self.most:
                wait = math.ceil((oldest + self.window - now).total_seconds())
                raise DomainError(
                    ErrorCode.RATE_LIMITED,
                    f"{self.most} {self.counted} for {key.what} within "
                    f"{int(self.window.total_seconds() // 60)} minutes: try again later",
                    retry_after=max(1, wait),
                )
