"""Who a report is about: the utilities (a group and its branches, by ``parent_id``), the
channels and the outlets, read once per report from their owners' views (small tables),
and the scope a reader asked for, resolved to the utilities it covers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.collection.figures import DayRow
from utilipay.collection.schemas import Scope
from utilipay.errors import DomainError, ErrorCode

Breakdown = Literal["biller", "branch", "region", "channel-kind", "channel", "outlet"]
BREAKDOWNS: tuple[str, ...] = get_args(Breakdown)
NO_OUTLET = "(no outlet)"


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    name: str
    region: str
    parent_id: int | None = None


@dataclass(frozen=True, slots=True)
class Directory:
    billers: dict[int, Place]
    channels: dict[int, tuple[str, str]]  # id → (code, kind)
    outlets: dict[int, Place]

    def root(self, biller_id: int) -> int:
        """The utility at the top of a branch's group (itself if it has no parent)."""
        seen = {biller_id}
        while (parent := self.billers[biller_id].parent_id) is not None and parent not in seen:
            seen.add(parent)
            biller_id = parent
        return biller_id

    def with_branches(self, biller_id: int) -> frozenset[int]:
        found = {biller_id}
        grew = True
        while grew:
            more = {i for i, b in self.billers.items() if b.parent_id in found} - found
            found |= more
            grew = bool(more)
        return frozenset(found)

    def covered(self, scope: Scope) -> frozenset[int]:
        """The utilities of a scope; a utility the reader may not see is refused (403)."""
        if scope.biller_id is None:
            return frozenset(self.billers) if scope.billers is None else scope.billers
        if scope.biller_id not in self.billers:
            raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no utility {scope.biller_id}")
        if scope.billers is not None and scope.biller_id not in scope.billers:
            code = self.billers[scope.biller_id].code
            raise DomainError(ErrorCode.FORBIDDEN, f"the reader may not see utility {code}")
        under = self.with_branches(scope.biller_id)
        return under if scope.billers is None else under & scope.billers

    def group(self, by: str | None, row: DayRow) -> str:
        """The label of a row's line in a breakdown ``by`` ("all" with none)."""
        biller = self.billers[row.biller_id]
        outlet = self.outlets.get(row.outlet_id)
        channel = self.channels.get(row.channel_id, ("", ""))
        labels = {
            "biller": lambda: self.billers[self.root(row.biller_id)].code,
            "branch": lambda: biller.code,
            "region": lambda: outlet.region if outlet is not None else biller.region,
            "channel-kind": lambda: channel[1],
            "channel": lambda: channel[0],
            "outlet": lambda: outlet.code if outlet is not None else NO_OUTLET,
        }
        return "all" if by is None else labels[by]()


def by_channel(by: str | None) -> bool:
    """Whether a breakdown splits by how the money came (billed bills have no channel)."""
    return by in ("channel-kind", "channel", "outlet")


async def load(conn: AsyncConnection) -> Directory:
    billers = await conn.execute(
        text("SELECT id, code, name, region, parent_id FROM billers_directory")
    )
    channels = await conn.execute(text("SELECT id, code, kind FROM channels_kinds"))
    outlets = await conn.execute(text("SELECT id, code, name, region FROM outlets_directory"))
    return Directory(
        {r.id: Place(r.code, r.name, r.region, r.parent_id) for r in billers},
        {r.id: (r.code, r.kind) for r in channels},
        {r.id: Place(r.code, r.name, r.region) for r in outlets},
    )


async def biller_id_of(conn: AsyncConnection, code: str) -> int:
    """A utility's id from its code, or a refusal naming it."""
    found = await conn.execute(
        text("SELECT id FROM billers_directory WHERE code = :code"), {"code": code}
    )
    biller_id = found.scalar_one_or_none()
    if biller_id is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no utility with the code {code!r}")
    return int(biller_id)
