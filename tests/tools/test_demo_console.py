"""The demo's console users: one per role, each signs in over HTTP with the password the
demo printed (the whole demo, with ``--keep-running``, is run by tests/cli/test_cli.py)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import FrozenClock
from utilipay.staff.roles import Role
from utilipay_tools.demo.console_people import add_console_people

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Sign in as a browser does: the form's CSRF token (and cookie), then the form."""
    form = await http.get("/console/sign-in")
    token = _FORM_TOKEN.search(form.text)
    assert token is not None, form.text
    data = {"username": username, "password": password, "csrf_token": token.group(1)}
    return await http.post("/console/sign-in", data=data)


async def my_account(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """``/console/me`` of a person just signed in (the client forgets whoever was before)."""
    http.cookies.clear()
    answer = await sign_in(http, username, password)
    assert answer.status_code == 303, answer.text
    return await http.get("/console/me")


async def test_each_demo_user_signs_in_with_the_password_given(
    engine: AsyncEngine, clock: FrozenClock, http: httpx.AsyncClient
) -> None:
    async with engine.begin() as conn:
        people = await add_console_people(conn, clock)
    assert sorted(p.role for p in people) == sorted(Role)
    assert len({p.password for p in people}) == len(people)  # made one by one
    for person in people:
        me = await my_account(http, person.username, person.password)
        assert me.status_code == 200 and person.username in me.text
    http.cookies.clear()
    refused = await sign_in(http, people[0].username, "not the demo password")
    assert refused.status_code != 303 and "用户名或密码错误" in refused.text
