"""Opening the payer pages: only a launch link the channel signed, within 60 s, once; the
session it opens is the channel's and the payer's, its cookie HttpOnly on /h5."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import OTHER_SECRET, SECRET
from tests.h5.conftest import PAYER, launch_link
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import ChannelStatus
from utilipay.clock import FrozenClock
from utilipay.console.i18n import Locale
from utilipay.h5 import launch
from utilipay.security.signing import sign
from utilipay_tools.client import ChannelClient

REFUSED = "该链接无法使用"


async def sessions(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT channel_code, payer FROM payer_sessions"))
        return [(r.channel_code, r.payer) for r in rows]


async def test_a_signed_link_opens_a_session_of_its_channel_and_payer(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine
) -> None:
    opened = await http.get(launch_link(clock))
    assert (opened.status_code, opened.headers["location"]) == (303, "/h5/")
    cookie = next(c for c in opened.headers.get_list("set-cookie") if c.startswith("utilipay_h5="))
    assert "HttpOnly" in cookie and "Path=/h5" in cookie and "Max-Age=1800" in cookie
    assert "samesite=lax" in cookie.lower()
    assert await sessions(engine) == [("WECHAT", PAYER)]
    # the cookie's value is not what the table keeps (only its hash)
    value = cookie.split(";")[0].split("=", 1)[1]
    async with engine.connect() as conn:
        assert not await conn.scalar(
            text("SELECT count(*) FROM payer_sessions WHERE token_hash = convert_to(:v, 'UTF8')"),
            {"v": value},
        )
    page = await http.get("/h5/")
    assert page.status_code == 200 and "我的户号" in page.text


async def test_over_https_the_session_is_sent_inside_the_channels_frame(
    http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """A Lax cookie is not sent to a cross-site frame: over https the cookies are
    SameSite=None, Secure and Partitioned (the CHIPS way browsers still allow)."""
    http.base_url = httpx.URL("https://hub.test")
    opened = await http.get(launch_link(clock))
    cookies = opened.headers.get_list("set-cookie")
    assert len(cookies) == 2  # the session's and the language's
    for cookie in cookies:
        flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
        assert {"samesite=none", "secure", "partitioned", "httponly"} <= flags, cookie
    assert (await http.get("/h5/")).status_code == 200


async def test_a_link_used_twice_is_refused_the_second_time(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine
) -> None:
    link = launch_link(clock)
    assert (await http.get(link)).status_code == 303
    http.cookies.clear()
    again = await http.get(link)
    assert again.status_code == 401 and REFUSED in again.text
    assert "utilipay_h5=" not in again.headers.get("set-cookie", "")
    assert len(await sessions(engine)) == 1


async def test_a_link_older_or_newer_than_60_seconds_is_refused(
    http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    old = launch_link(clock)
    clock.advance(timedelta(seconds=61))
    assert (await http.get(old)).status_code == 401
    early = launch_link(clock)
    clock.advance(timedelta(seconds=-61))
    assert (await http.get(early)).status_code == 401
    clock.advance(timedelta(seconds=1))  # 60 s early is still within
    assert (await http.get(early)).status_code == 303


async def test_the_same_refusal_for_every_bad_link(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine
) -> None:
    good = launch_link(clock)
    bad = [
        launch_link(clock, secret=OTHER_SECRET),  # another channel's secret
        good.replace("payer=wx-openid-abc", "payer=wx-openid-abd"),  # payer changed
        good.replace("channel=WECHAT", "channel=NOSUCH"),
        good.replace("lang=zh-CN", "lang=en"),
        good.split("&sig=")[0],  # no signature
        "/h5/launch",
    ]
    answers = [await http.get(link) for link in bad]
    assert {(a.status_code, REFUSED in a.text) for a in answers} == {(401, True)}
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, clock, "WECHAT", status=ChannelStatus.DISABLED, actor="test"
        )
    assert (await http.get(good)).status_code == 401  # a disabled channel's link
    assert await sessions(engine) == []


async def test_both_secrets_open_during_a_rotation(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, clock, "WECHAT", new_secret="the-new-wechat-secret-000", actor="test"
        )
    assert (await http.get(launch_link(clock, secret=SECRET))).status_code == 303
    rotated = launch_link(clock, secret="the-new-wechat-secret-000")
    assert (await http.get(rotated)).status_code == 303


async def test_a_launch_nonce_and_an_api_nonce_do_not_collide(
    http: httpx.AsyncClient, clock: FrozenClock, wechat: ChannelClient
) -> None:
    """The channel's nonce store holds both: the same nonce used in an API call and then in
    a link are two different nonces."""
    nonce = "the-same-nonce-0123456789"
    called = await wechat.send(wechat.build("GET", "/v1/billers", nonce=nonce))
    assert called.status_code == 200
    ts = int(clock.now().timestamp())
    sig = sign(SECRET, launch.message("WECHAT", PAYER, Locale.ZH_CN, ts, nonce))
    link = f"/h5/launch?channel=WECHAT&payer={PAYER}&lang=zh-CN&ts={ts}&nonce={nonce}&sig={sig}"
    assert (await http.get(link)).status_code == 303
    assert (await http.get(link)).status_code == 401  # but each is still single use


async def test_no_session_is_told_to_open_from_the_app(http: httpx.AsyncClient) -> None:
    for path in ("/h5/", "/h5/payments", "/h5/accounts/BD1"):
        answer = await http.get(path)
        assert answer.status_code == 401 and "请从 App 中重新打开本页面" in answer.text
    http.cookies.set("utilipay_h5", "not-a-session")
    assert (await http.get("/h5/")).status_code == 401


async def test_a_session_ends_after_30_minutes(http: httpx.AsyncClient, clock: FrozenClock) -> None:
    assert (await http.get(launch_link(clock, lang=Locale.EN))).status_code == 303
    assert "My accounts" in (await http.get("/h5/")).text  # the link's language
    clock.advance(timedelta(minutes=30))
    assert (await http.get("/h5/")).status_code == 401
