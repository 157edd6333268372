"""Selecting the rows of a payer and/or of an account from an area's table whose columns
say whose a row is (``payer``, ``biller_id``, ``account_no``): support staff look up a
payer at every channel, or an account, in bindings, mandates and payments alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, Table


@dataclass(frozen=True, slots=True)
class Owner:
    """A payer (at any channel), an account (``biller_id`` and ``account_no``), or both."""

    payer: str | None = None
    biller_id: int | None = None
    account_no: str | None = None

    def __post_init__(self) -> None:
        if self.payer is None and (self.biller_id is None or self.account_no is None):
            raise ValueError("say whose rows: a payer, or a biller and account")


Row = TypeVar("Row")


def of_owner(query: Select[Row], table: Table, owner: Owner) -> Select[Row]:
    if owner.payer is not None:
        query = query.where(table.c.payer == owner.payer)
    if owner.biller_id is not None:
        query = query.where(table.c.biller_id == owner.biller_id)
    if owner.account_no is not None:
        query = query.where(table.c.account_no == owner.account_no)
    return query
