"""A terminal's view of its outlet (channel-api.md §11): ``GET /v1/outlet`` (the float and
today's figures), ``GET /v1/outlet/refunds-due`` (store-and-forward payments refused
because their bills were paid meanwhile: the collector gives the cash back) and
``GET /v1/outlet/statement`` (a day's float movements, JSON or CSV)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import text
from starlette.responses import Response

from utilipay.channels.requests import RequestContext, signed
from utilipay.clock import business_date, day_bounds, to_shanghai_iso
from utilipay.http.docs import PROBLEMS
from utilipay.http.inputs import Day, day_query
from utilipay.http.json import json_response
from utilipay.outlets import statements
from utilipay.outlets.auth import terminal_required

router = APIRouter(prefix="/v1", tags=["outlets"])

# Today's payments of the outlet through the payments' published view. A voided payment
# (status VOIDED, the void's work) counts among the voids, not the payments.
_OUTLET = text(
    """
    SELECT o.code, f.balance, f.held, o.low_threshold, o.low_since,
           coalesce(t.count, 0) AS count, coalesce(t.amount, 0) AS amount,
           coalesce(t.voids, 0) AS voids
      FROM outlets o JOIN outlet_floats f ON f.outlet_id = o.id
      LEFT JOIN LATERAL (
          SELECT count(*) FILTER (WHERE p.status = 'SUCCEEDED') AS count,
                 sum(p.amount) FILTER (WHERE p.status = 'SUCCEEDED')::bigint AS amount,
                 count(*) FILTER (WHERE p.status = 'VOIDED') AS voids
            FROM outlet_payments op
            JOIN payments_orders p ON p.biller_id = op.biller_id AND p.id = op.payment_id
           WHERE op.outlet_id = o.id AND op.received_at >= :day_start
             AND op.received_at < :day_end) t ON true
     WHERE o.id = :outlet_id
    """
)
_REFUNDS_DUE = text(
    """
    SELECT r.order_id, b.code AS biller, r.account_no, r.bill_nos, r.amount, r.tender,
           r.terminal_id, r.operator_code, r.reason, r.detail, r.collected_at, r.received_at
      FROM outlet_refunds_due r JOIN billers_directory b ON b.id = r.biller_id
     WHERE r.outlet_id = :outlet_id
     ORDER BY r.received_at DESC, r.id DESC
     LIMIT 500
    """
)


@router.get("/outlet", responses=PROBLEMS)
async def get_outlet(ctx: Annotated[RequestContext, Depends(signed)]) -> Response:
    terminal = terminal_required(ctx.call)
    now = ctx.hub.clock.now()
    day_start, day_end = day_bounds(business_date(now))
    async with ctx.transaction() as conn:
        row = (
            await conn.execute(
                _OUTLET,
                {
                    "outlet_id": terminal.outlet_id,
                    "day_start": day_start,
                    "day_end": day_end,
                },
            )
        ).one()
    float_: dict[str, object] = {
        "balance": row.balance, "held": row.held, "low_threshold": row.low_threshold
    }  # fmt: skip
    if row.low_since is not None:  # an addition: the low-float flag (issue 12)
        float_["low_since"] = to_shanghai_iso(row.low_since)
    today = {"count": row.count, "amount": row.amount, "voids": row.voids}
    return json_response({"outlet": row.code, "float": float_, "today": today})


@router.get("/outlet/refunds-due", responses=PROBLEMS)
async def get_refunds_due(ctx: Annotated[RequestContext, Depends(signed)]) -> Response:
    terminal = terminal_required(ctx.call)
    async with ctx.transaction() as conn:
        rows = await conn.execute(_REFUNDS_DUE, {"outlet_id": terminal.outlet_id})
        due = [
            {
                "order_id": r.order_id,
                "biller": r.biller,
                "account": r.account_no,
                "bill_nos": list(r.bill_nos),
                "amount": r.amount,
                "tender": r.tender,
                "terminal": r.terminal_id,
                "operator": r.operator_code,
                "code": r.reason,
                "detail": r.detail,
                "collected_at": to_shanghai_iso(r.collected_at),
                "received_at": to_shanghai_iso(r.received_at),
            }
            for r in rows
        ]
    return json_response({"outlet": terminal.outlet_code, "refunds_due": due})


@router.get("/outlet/statement", responses=PROBLEMS)
async def get_statement(
    ctx: Annotated[RequestContext, Depends(signed)],
    day: Annotated[Day, day_query("date")],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """The outlet's daily statement (日对账单): opening float, each deposit, payment, void
    and commission with the balance after it, closing float."""
    terminal = terminal_required(ctx.call)
    async with ctx.transaction() as conn:
        found = await statements.statement(
            conn, outlet_id=terminal.outlet_id, outlet_code=terminal.outlet_code,
            float_account=terminal.float_account, day=day,
        )  # fmt: skip
    if format == "csv":
        return Response(statements.to_csv(found), media_type="text/csv; charset=utf-8")
    return json_response(found.as_json())
