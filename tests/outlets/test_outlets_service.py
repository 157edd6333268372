"""Setting up outlets, terminals and operators: what is written, what is refused (and
then nothing is written), what the audit log says."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.outlets.helpers import AGENT_SECRET, agent_with_shop
from utilipay.channels import repository as channels_repo
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import ChannelKind
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets import repository, service, terminal_admin
from utilipay.outlets.repository import OutletFilter
from utilipay.outlets.schemas import OperatorStatus, OutletKind, OutletStatus, TerminalType
from utilipay.security.sealing import PREFIX, unseal


async def _count(conn: AsyncConnection, sql: str) -> int:
    return int(await conn.scalar(text(sql)) or 0)


async def _audit(conn: AsyncConnection, action: str) -> list[tuple[str, str, str]]:
    rows = await conn.execute(
        text("SELECT actor, object_id, reason FROM audit_log WHERE action = :a ORDER BY id"),
        {"a": action},
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def _secrets(conn: AsyncConnection, *, unsealed: bool = False) -> tuple[str, str | None]:
    row = (await conn.execute(text("SELECT secret, previous_secret FROM terminals"))).one()
    if not unsealed:
        return (row.secret, row.previous_secret)
    return (unseal(row.secret), unseal(row.previous_secret) if row.previous_secret else None)


async def test_an_outlet_opens_its_float_account_and_row(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    shop = await agent_with_shop(conn, clock)
    assert (shop.balance, shop.held, shop.available, shop.low) == (0, 0, 0, True)
    code = await conn.scalar(
        text("SELECT code FROM ledger_accounts WHERE id = :id"), {"id": shop.float_account}
    )
    assert code == "OUTLET_FLOAT:AGENT1.SHOP-0001:CNY"
    second = await service.add_outlet(
        conn, clock, channel="AGENT1", code="COL-07", name="上门收费 林师傅",
        kind=OutletKind.COLLECTOR, region="泉州市南安市", low_threshold=0, actor="ops-li",
    )  # fmt: skip
    assert second.float_account != shop.float_account and not second.low
    assert shop.deposit_reference == "FLOAT-AGENT1-SHOP-0001"
    assert await _audit(conn, "outlet.add") == [
        ("ops-li", "AGENT1.SHOP-0001", ""), ("ops-li", "AGENT1.COL-07", "")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "SHOP 1"}, "outlet code 'SHOP 1' must be 1-32 characters"),
        ({"name": "  "}, "the outlet's name must be 1-200 printable characters"),
        ({"region": "a\x00b"}, "the region must be"),
        ({"low_threshold": -1}, "low-float threshold -1"),
        ({"owner_phone": "call me"}, "owner phone 'call me'"),
        ({"owner_email": "chen@"}, "owner email 'chen@' is not an e-mail address"),
        ({"channel": "WECHAT"}, "channel WECHAT is of kind wallet: only an agent channel"),
        ({"channel": "NOPE"}, "no channel NOPE"),
        ({"code": "shop-0001"}, "channel AGENT1 already has outlet SHOP-0001"),
    ],
)
async def test_bad_outlets_are_refused_and_write_nothing(
    conn: AsyncConnection, clock: FrozenClock, change: dict[str, object], message: str
) -> None:
    await agent_with_shop(conn, clock)
    await channels_service.add_channel(conn, clock, code="WECHAT", secret=AGENT_SECRET,
                                       actor="ops-li")  # fmt: skip
    before = [await _count(conn, f"SELECT count(*) FROM {t}")
              for t in ("outlets", "ledger_accounts", "audit_log")]  # fmt: skip
    values: dict[str, object] = {
        "channel": "AGENT1", "code": "SHOP-0002", "name": "西村小卖部", "kind": OutletKind.SHOP,
        "region": "泉州市", "low_threshold": 1000, "owner_phone": None, "owner_email": None,
    }  # fmt: skip
    with pytest.raises(DomainError, match=message):
        await service.add_outlet(conn, clock, **{**values, **change}, actor="ops-li")  # type: ignore[arg-type]
    after = [await _count(conn, f"SELECT count(*) FROM {t}")
             for t in ("outlets", "ledger_accounts", "audit_log")]  # fmt: skip
    assert after == before


async def test_update_suspend_resume_are_audited_with_before_and_after(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    await agent_with_shop(conn, clock)
    updated = await service.update_outlet(
        conn, clock, "AGENT1", "SHOP-0001", low_threshold=80_000, owner_email="chen@example.cn",
        owner_phone="", actor="ops-li", reason="owner asked",
    )  # fmt: skip
    assert (updated.low_threshold, updated.owner_email, updated.owner_phone) == (
        80_000, "chen@example.cn", None)  # fmt: skip
    row = (await conn.execute(text(
        "SELECT before, after, reason FROM audit_log WHERE action = 'outlet.update'"
    ))).one()  # fmt: skip
    assert row.before == {"low_threshold": 50_000, "owner_email": None,
                          "owner_phone": "13905951234"}  # fmt: skip
    assert row.after["low_threshold"] == 80_000 and row.reason == "owner asked"
    with pytest.raises(DomainError, match="give the reason"):
        await service.set_status(conn, clock, "AGENT1", "SHOP-0001", OutletStatus.SUSPENDED,
                                 actor="ops-li", reason=" ")  # fmt: skip
    suspended = await service.set_status(conn, clock, "AGENT1", "SHOP-0001",
                                         OutletStatus.SUSPENDED, actor="ops-li",
                                         reason="float audit")  # fmt: skip
    assert suspended.status == "SUSPENDED"
    with pytest.raises(DomainError, match="is SUSPENDED already"):
        await service.set_status(conn, clock, "AGENT1", "SHOP-0001", OutletStatus.SUSPENDED,
                                 actor="ops-li", reason="again")  # fmt: skip
    await service.set_status(conn, clock, "AGENT1", "SHOP-0001", OutletStatus.ACTIVE,
                             actor="ops-li", reason="audit done")  # fmt: skip
    assert [r[2] for r in await _audit(conn, "outlet.suspend")] == ["float audit"]
    assert [r[2] for r in await _audit(conn, "outlet.resume")] == ["audit done"]


async def test_listing_filters_by_channel_region_and_low(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    await agent_with_shop(conn, clock)
    await service.add_outlet(conn, clock, channel="AGENT1", code="CTR-1", name="营业厅",
                             kind=OutletKind.COUNTER, region="泉州市鲤城区", low_threshold=0,
                             actor="ops-li")  # fmt: skip
    found = await repository.outlets_of(conn, OutletFilter())
    assert [o.code for o in found] == ["CTR-1", "SHOP-0001"]
    low = await repository.outlets_of(conn, OutletFilter(low=True))
    assert [o.code for o in low] == ["SHOP-0001"]
    region = await repository.outlets_of(conn, OutletFilter(region="泉州市鲤城区"))
    assert [o.code for o in region] == ["CTR-1"]
    assert await repository.outlets_of(conn, OutletFilter(channel="OTHER")) == []


async def test_a_terminal_secret_is_sealed_rotated_once_dropped_and_revoked(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    await agent_with_shop(conn, clock)
    terminal, secret = await terminal_admin.add_terminal(
        conn, clock, channel="AGENT1", outlet="SHOP-0001", type=TerminalType.POS_FIXED,
        label="柜台POS", actor="ops-li",
    )  # fmt: skip
    assert terminal.id.startswith("T") and len(secret) >= 40
    assert (await _secrets(conn))[0].startswith(PREFIX)  # sealed in the table
    assert await _secrets(conn, unsealed=True) == (secret, None)
    _, second = await terminal_admin.rotate_terminal(conn, clock, terminal.id, actor="ops-li")
    assert await _secrets(conn, unsealed=True) == (second, secret)
    rotated, third = await terminal_admin.rotate_terminal(conn, clock, terminal.id, actor="ops-li")
    assert await _secrets(conn, unsealed=True) == (third, second)
    dropped = await terminal_admin.drop_previous_secret(conn, clock, terminal.id, actor="ops-li")
    assert rotated.has_previous_secret and not dropped.has_previous_secret
    with pytest.raises(DomainError, match="has no previous secret"):
        await terminal_admin.drop_previous_secret(conn, clock, terminal.id, actor="ops-li")
    with pytest.raises(DomainError, match="give the reason"):
        await terminal_admin.revoke_terminal(conn, clock, terminal.id, actor="ops-li", reason="")
    revoked = await terminal_admin.revoke_terminal(conn, clock, terminal.id, actor="ops-li",
                                              reason="stolen")  # fmt: skip
    assert revoked.status == "REVOKED"
    with pytest.raises(DomainError, match="is revoked") as refused:
        await terminal_admin.rotate_terminal(conn, clock, terminal.id, actor="ops-li")
    assert refused.value.code is ErrorCode.IDEMPOTENCY_CONFLICT
    audited = await conn.scalar(text("SELECT string_agg(details::text || before::text, ' ')"
                                     " FROM audit_log WHERE object_type = 'terminal'"))  # fmt: skip
    assert all(s not in str(audited) for s in (secret, second, third))


async def test_operators_are_added_once_and_disabled_with_a_record(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    shop = await agent_with_shop(conn, clock)
    added = await terminal_admin.add_operator(conn, clock, channel="AGENT1", outlet="SHOP-0001",
                                         code="0001", name="陈小红", actor="ops-li")  # fmt: skip
    assert (added.code, added.status) == ("0001", "ACTIVE")
    with pytest.raises(DomainError, match="already has operator 0001"):
        await terminal_admin.add_operator(conn, clock, channel="AGENT1", outlet="SHOP-0001",
                                     code="0001", name="别人", actor="ops-li")  # fmt: skip
    with pytest.raises(DomainError, match="operator code"):
        await terminal_admin.add_operator(conn, clock, channel="AGENT1", outlet="SHOP-0001",
                                     code="00 1", name="别人", actor="ops-li")  # fmt: skip
    await terminal_admin.set_operator_status(conn, clock, channel="AGENT1", outlet="SHOP-0001",
                                        code="0001", status=OperatorStatus.DISABLED,
                                        actor="ops-li", reason="left")  # fmt: skip
    assert [o.status for o in await repository.operators_of(conn, shop.id)] == ["DISABLED"]
    assert await _audit(conn, "operator.disable") == [("ops-li", "AGENT1.SHOP-0001/0001", "left")]


async def test_a_channels_kind_is_kept_listed_and_changed(
    conn: AsyncConnection, clock: FrozenClock
) -> None:
    await channels_service.add_channel(conn, clock, code="ICBC", secret=AGENT_SECRET,
                                       kind=ChannelKind.BANK, actor="ops-li")  # fmt: skip
    changed = await channels_service.update_channel(
        conn, clock, "ICBC", kind=ChannelKind.POS, actor="ops-li", reason="POS network"
    )
    assert changed.kind is ChannelKind.POS
    assert [c.as_json()["kind"] for c in await channels_repo.all_channels(conn)] == ["pos"]
    row = (await conn.execute(text("SELECT before, after FROM audit_log"
                                   " WHERE action = 'channel.update'"))).one()  # fmt: skip
    assert (row.before, row.after) == ({"kind": "bank"}, {"kind": "pos"})
