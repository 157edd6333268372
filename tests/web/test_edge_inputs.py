"""Every input a client controls is checked at the edge: NUL, ids past BIGINT and dates the
hub cannot compute with are 400 ``MALFORMED_REQUEST``, never a database error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import structlog

from tests.web.test_bad_input import assert_problem
from utilipay_tools.client import ChannelClient


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/payments", {"order_id": "\x00"}),
        ("/v1/payments/%00", None),
        ("/v1/mandates/%00", None),
        ("/v1/mandates/%00/debits", None),
        ("/v1/mandates", {"payer": "a\x00b"}),
        ("/v1/bindings", {"payer": "\x00"}),
        ("/v1/prepaid", {"biller": "BJWATER", "account": "\x00", "payer": "p"}),
        ("/v1/prepaid", {"biller": "BJ\x00", "account": "0112345678", "payer": "p"}),
        ("/v1/bills", {"biller": "\x00", "account": "0112345678"}),
    ],
)
async def test_nul_in_a_channel_query_or_path_is_malformed(
    wechat: ChannelClient, path: str, params: dict[str, str] | None
) -> None:
    r = await wechat.call("GET", path, params=params)
    assert_problem(r, 400, "MALFORMED_REQUEST")


async def test_nul_in_a_binding_id_is_malformed(wechat: ChannelClient) -> None:
    assert_problem(await wechat.call("DELETE", "/v1/bindings/%00"), 400, "MALFORMED_REQUEST")


BIG = "100000000000000000000"  # past BIGINT


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/admin/v1/recon/runs/{BIG}", None),
        ("GET", f"/admin/v1/recon/runs/{2**63}", None),
        ("GET", "/admin/v1/recon/runs/0", None),
        ("POST", f"/admin/v1/recon/runs/{BIG}/apply", {"reason": "r"}),
        ("POST", f"/admin/v1/exceptions/{BIG}/resolve", {"outcome": "SUCCEEDED", "reason": "r"}),
        ("PUT", "/admin/v1/settlements/fees/biller/BJWATER",
         {"effective_from": "2026-12-01", "minimum": 10**20}),
        ("PUT", "/admin/v1/settlements/fees/biller/BJWATER",
         {"effective_from": "2026-12-01", "fixed": 2**63}),
        ("PUT", "/admin/v1/settlements/fees/biller/BJ%00", {"effective_from": "2026-12-01"}),
        ("PUT", "/admin/v1/settlements/accounts/BJWATER",
         {"account_no": "1\u0000", "account_name": "n", "bank": "b"}),
        ("POST", "/admin/v1/recon/runs", {"date": "0001-01-01"}),
        ("POST", "/admin/v1/recon/runs", {"date": "9999-12-31"}),
        ("POST", "/admin/v1/recon/runs", {"date": "2026-11-21", "channel": "WE\u0000"}),
        ("GET", "/admin/v1/recon/runs?date=0001-01-01", None),
        ("POST", "/admin/v1/settlements/run", {"date": "0001-01-01"}),
        ("GET", "/admin/v1/settlements?date=0001-01-01", None),
        ("GET", "/admin/v1/settlements?date=2026-11-21&biller=%00", None),
        ("GET", "/admin/v1/settlements/BJWATER/0001-01-01/file", None),
        ("GET", "/admin/v1/settlements/%00/2026-11-21/file", None),
        ("GET", "/admin/v1/readings/usage?biller=BJWATER&account=1&from=0001-01-01&to=0001-01-02",
         None),
        ("GET", "/admin/v1/readings/usage?biller=%00&account=1&from=2026-11-01&to=2026-11-02",
         None),
        ("POST", "/admin/v1/exceptions/1/resolve",
         {"outcome": "SUCCEEDED", "reason": "r", "biller_serial": "\u0000"}),
    ],
)  # fmt: skip
async def test_admin_inputs_out_of_range_are_malformed(
    http: httpx.AsyncClient, admin: dict[str, str], method: str, path: str, body: Any
) -> None:
    with structlog.testing.capture_logs() as logs:
        r = await http.request(method, path, json=body, headers=admin)
    assert_problem(r, 400, "MALFORMED_REQUEST")
    assert logs == []  # a client's mistake is no server event
