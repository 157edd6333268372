"""The payer's journeys in Chromium at a phone's size (360 × 740, 2× pixels): opening the
pages from the app, binding and unbinding, a bill with its late fee, paying through the
channel's cashier (the simulator's) to the e-receipt, a payment PROCESSING that succeeds
later, the language switch; the first page's weight and its layout at 360 px and 200 %."""

from __future__ import annotations

import gzip
from datetime import timedelta

from playwright.async_api import Page, Response, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REMOTE_ACCOUNT
from tests.h5.conftest import OTHER_PAYER, launch_link, snapshot
from tests.helpers import ACCOUNT, HOLDER, bill_line, bind_verified, import_bills
from tests.utility import Utility
from utilipay.clock import FrozenClock
from utilipay.payments.resolution import resolve_due
from utilipay.web.hub import Hub
from utilipay_tools.client import ChannelClient


async def fits_the_phone(page: Page) -> bool:
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width <= 360


async def test_opened_from_the_app_in_chinese_then_english(phone: Page, clock: FrozenClock) -> None:
    weights: list[int] = []

    async def weigh(response: Response) -> None:
        if not 300 <= response.status < 400:  # a redirect has no body
            weights.append(len(gzip.compress(await response.body())))

    phone.on("response", weigh)
    await phone.goto(launch_link(clock))
    await expect(phone).to_have_url("/h5/")
    await expect(phone.get_by_role("heading", name="我的户号", level=1)).to_be_visible()
    await phone.wait_for_load_state("networkidle")
    phone.remove_listener("response", weigh)
    assert 0 < sum(weights) < 100_000, weights  # every request of the first page, gzipped
    assert await fits_the_phone(phone)
    await phone.evaluate("document.documentElement.style.fontSize = '200%'")
    assert await fits_the_phone(phone)  # large fonts wrap, never scroll sideways
    await snapshot(phone, "accounts-empty")
    await phone.get_by_role("link", name="English").click()
    await expect(phone.get_by_role("heading", name="My accounts", level=1)).to_be_visible()
    await phone.get_by_role("link", name="中文").click()
    await expect(phone.get_by_role("heading", name="我的户号", level=1)).to_be_visible()


async def test_a_replayed_or_expired_link_is_refused(phone: Page, clock: FrozenClock) -> None:
    link = launch_link(clock)
    await phone.goto(link)
    await phone.context.clear_cookies()
    refused = await phone.goto(link)
    assert refused is not None and refused.status == 401
    await expect(phone.get_by_role("alert")).to_contain_text("该链接无法使用")
    await snapshot(phone, "refused")
    late = launch_link(clock)
    clock.advance(timedelta(seconds=61))
    assert (answer := await phone.goto(late)) is not None and answer.status == 401
    await phone.goto("/h5/")  # and no cookie at all
    await expect(phone.get_by_role("alert")).to_contain_text("请从 App 中重新打开本页面")


async def bind(phone: Page, account: str, utility: str = "北京自来水 (水费)") -> None:
    await phone.get_by_label("缴费单位").select_option(label=utility)
    await phone.get_by_label("户号", exact=True).fill(account)
    await phone.get_by_role("button", name="绑定", exact=True).click()


async def test_bind_see_a_bill_with_its_late_fee_and_unbind(
    phone: Page, clock: FrozenClock, engine: AsyncEngine
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001", late_fee=500))
    await phone.goto(launch_link(clock))
    await bind(phone, "123")
    await expect(phone.get_by_role("alert")).to_contain_text("INVALID_ACCOUNT")
    await bind(phone, ACCOUNT)
    await expect(phone.get_by_role("heading", name=f"北京自来水 · {ACCOUNT}")).to_be_visible()
    await expect(phone.get_by_text("户名 张*")).to_be_visible()  # never the whole name
    await expect(phone.get_by_text("张三")).to_have_count(0)
    # a water account with no tariff and meter for smart payment is not offered it
    await expect(phone.get_by_role("link", name="智能交费")).to_have_count(0)
    await expect(phone.get_by_text("合计应缴 ¥128.45")).to_be_visible()
    await snapshot(phone, "account")
    await phone.get_by_role("link", name="账期 2026-10").click()
    await expect(phone.get_by_role("heading", name="2026-10 账单")).to_be_visible()
    facts = phone.locator("dl.facts")
    for shown in ("¥123.45", "¥5.00", "2026-11-30", "¥128.45"):
        await expect(facts).to_contain_text(shown)
    await snapshot(phone, "bill")
    await phone.get_by_role("link", name="我的户号").click()
    await expect(phone.get_by_text("应缴 ¥128.45")).to_be_visible()
    await snapshot(phone, "accounts")
    await phone.get_by_text(f"北京自来水 · {ACCOUNT}").click()
    await phone.get_by_role("link", name="解除绑定").click()
    await snapshot(phone, "unbind")
    await phone.get_by_role("button", name="解除绑定").click()
    await expect(phone.get_by_text("还没有户号，请在下方绑定。")).to_be_visible()


async def test_pay_at_the_cashier_and_see_the_receipt(
    phone: Page, clock: FrozenClock, engine: AsyncEngine, cashier: str
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await phone.goto(launch_link(clock))
    await bind(phone, ACCOUNT)
    await phone.get_by_role("button", name="缴费 ¥123.45").click()
    await expect(phone.get_by_text("金额 ¥123.45")).to_be_visible()  # the channel's cashier
    await phone.get_by_role("button", name="确认支付").click()
    await expect(phone.get_by_role("heading", name="缴费成功")).to_be_visible()
    await snapshot(phone, "order-paid")
    await phone.get_by_role("link", name="查看电子凭证").click()
    await expect(phone.locator("pre.receipt")).to_contain_text("B202610-0001")
    await expect(phone.locator("pre.receipt")).to_contain_text("张*")
    await snapshot(phone, "receipt")
    await phone.get_by_role("link", name="缴费记录").click()
    await expect(phone.get_by_text("¥123.45 · 缴费成功")).to_be_visible()
    await snapshot(phone, "payments")
    await phone.goto("/h5/")
    await expect(phone.get_by_text("暂无欠费")).to_be_visible()


async def test_a_payment_processing_shows_so_then_succeeds(
    phone: Page, clock: FrozenClock, cashier: str, utility: Utility, engine: AsyncEngine,
    hub: Hub,
) -> None:  # fmt: skip
    await phone.goto(launch_link(clock))
    await bind(phone, REMOTE_ACCOUNT, "远程水务 (水费)")
    await phone.get_by_role("button", name="缴费 ¥42.50").click()
    utility.fail_with("drop_response=1")  # written off, but the answer is lost
    await phone.get_by_role("button", name="确认支付").click()
    status = phone.get_by_role("status")
    await expect(status).to_contain_text("缴费单位尚未确认销账")
    await expect(status).to_contain_text("请勿重复缴费")
    await snapshot(phone, "order-processing")
    utility.fail_with("")
    clock.advance(timedelta(seconds=6))  # the first confirm is due 5 s later
    directory = hub.directory
    await resolve_due(
        engine, clock, hub.remote_billers, directory.biller_by_id, directory.channel_code
    )
    # the page asks again every 2 s (htmx) and shows the outcome without a reload
    await expect(status).to_contain_text("缴费成功", timeout=8_000)
    await expect(status.get_by_role("link", name="查看电子凭证")).to_be_visible()


async def test_another_payers_account_by_url_is_not_found(
    phone: Page, clock: FrozenClock, engine: AsyncEngine, wechat: ChannelClient
) -> None:
    """A payer who types another payer's binding, bill, order or receipt address into the
    web view sees "not found": neither the account nor that it exists."""
    await import_bills(engine, clock, bill_line("B202610-0001"))
    theirs = (await bind_verified(wechat, OTHER_PAYER, "BJWATER", ACCOUNT, HOLDER))["id"]
    await phone.goto(launch_link(clock))  # PAYER's session
    for path in (f"/h5/accounts/{theirs}", f"/h5/accounts/{theirs}/bills/B202610-0001",
                 f"/h5/prepaid/{theirs}", f"/h5/accounts/{theirs}/unbind"):  # fmt: skip
        answer = await phone.goto(path)
        assert answer is not None and answer.status == 404, path
        await expect(phone.get_by_role("alert")).to_have_text("未找到。")
        await expect(phone.get_by_text(ACCOUNT)).to_have_count(0)
