"""The admin API of early warning: rules read, added and changed; warnings listed and
acknowledged; bad input is a problem with a stable code and writes nothing."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import admin_token
from tests.warnings.rows import bill
from utilipay.access.scopes import Scope
from utilipay.clock import FrozenClock
from utilipay.warnings.evaluate import evaluate_all


async def test_rules_are_added_changed_and_listed(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    added = await http.post(
        "/admin/v1/warnings/rules",
        json={"biller": "BJWATER", "kind": "account_arrears", "params": {"days": 60}},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    rule = added.json()
    assert rule["params"] == {"amount_fen": 100_000, "days": 60} and rule["enabled"] is True
    changed = await http.patch(
        f"/admin/v1/warnings/rules/{rule['id']}",
        json={"params": {"amount_fen": 500}, "enabled": False},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    listed = (await http.get("/admin/v1/warnings/rules?biller=BJWATER", headers=admin)).json()
    [only] = listed["rules"]
    assert only["params"] == {"amount_fen": 500, "days": 60} and only["enabled"] is False


async def test_a_bad_rule_is_a_problem_and_writes_nothing(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for body, says in [
        ({"biller": "BJWATER", "kind": "nope"}, "unknown rule kind 'nope'"),
        ({"biller": "BJWATER", "kind": "prepaid_cut_often", "params": {"times": 0}}, "times:"),
        ({"biller": "NOWATER", "kind": "account_arrears"}, "no biller NOWATER"),
    ]:
        refused = await http.post("/admin/v1/warnings/rules", json=body, headers=admin)
        assert refused.status_code in (400, 404), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert says in refused.json()["detail"]
    assert (await http.get("/admin/v1/warnings/rules", headers=admin)).json() == {"rules": []}


async def test_warnings_are_listed_and_acknowledged_once(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    engine: AsyncEngine,
    clock: FrozenClock,
) -> None:
    await http.post(
        "/admin/v1/warnings/rules",
        json={"biller": "BJWATER", "kind": "account_arrears", "params": {"days": 1}},
        headers=admin,
    )
    await bill(engine, clock, "B1", issued=date(2026, 10, 1), due=date(2026, 11, 1))
    await evaluate_all(engine, clock)
    [warning] = (await http.get("/admin/v1/warnings?open=true", headers=admin)).json()["warnings"]
    assert warning["subject"] == "BJWATER/0112345678" and warning["acknowledged_at"] is None

    reader = await admin_token(engine, clock, Scope.OPS_READ, name="reader")
    url = f"/admin/v1/warnings/{warning['id']}/acknowledge"
    assert (await http.post(url, json={"note": "x"}, headers=reader)).status_code == 403
    done = await http.post(url, json={"note": "holder called, pays Friday"}, headers=admin)
    assert done.status_code == 200 and done.json()["note"] == "holder called, pays Friday"
    again = await http.post(url, json={"note": "again"}, headers=admin)
    assert again.status_code == 400 and "already acknowledged" in again.json()["detail"]
    assert (await http.get("/admin/v1/warnings?open=true", headers=admin)).json()["warnings"] == []
    missing = await http.post("/admin/v1/warnings/4242/acknowledge", json={"note": "n"},
                              headers=admin)  # fmt: skip
    assert missing.status_code == 404
