"""Outlets for the HTTP benchmark's channel (``world``), made an agent network: outlet O0
with many terminals (every payment from it locks one float row: the worst case), outlets
O1..On with one terminal each, every float deposited as the deposits record it and the
ledger books it, so ``utilipay check`` holds at the end."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL

from utilipay.clock import SystemClock
from utilipay.db.engine import create_engine
from utilipay.ledger.accounts import hub_bank
from utilipay.security.sealing import seal
from utilipay_tools.bench.world import CHANNEL, Signer, as_channel

DEPOSIT = 10**12  # fen per outlet: no payment of the run is refused for its float


def _hot_terminal(n: int) -> str:
    return f"TH{n:06d}"


def _spread_terminal(n: int) -> str:
    return f"TS{n:06d}"


def _secret(terminal_id: str) -> str:
    return f"bench-terminal-secret-{terminal_id}-0123456789"


async def seed_outlets(url: URL, hot_terminals: int, outlets: int) -> None:
    """Outlet O0 with ``hot_terminals`` terminals, outlets O1..On with one each; every
    float deposited as the deposits record it and the ledger books it (its rule
    ``ledger_post_float_deposit``, the hub's own bank account), set-based for a thousand
    outlets, so ``utilipay check`` holds at the end."""
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        bank = await hub_bank(conn, SystemClock())
        values = {"channel": CHANNEL, "n": outlets, "deposit": DEPOSIT, "bank": bank}
        for statement in _SEED_OUTLETS:
            await conn.execute(text(statement), values)
        hot = [(_hot_terminal(t), "O0") for t in range(hot_terminals)]
        spread = [(_spread_terminal(o), f"O{o}") for o in range(1, outlets + 1)]
        await conn.execute(
            text(
                "INSERT INTO terminals (id, outlet_id, type, label, secret, status, created_at)"
                " SELECT :id, id, 'pos_fixed', :id, :secret, 'ACTIVE', now() FROM outlets"
                " WHERE code = :outlet"
            ),
            [{"id": t, "outlet": o, "secret": seal(_secret(t))} for t, o in hot + spread],
        )
    await engine.dispose()


_SEED_OUTLETS = (
    "UPDATE channels SET kind = 'agent' WHERE code = :channel",
    "INSERT INTO ledger_accounts (code, kind, channel_id, currency, created_at)"
    " SELECT 'OUTLET_FLOAT:' || c.code || '.O' || i || '\\:CNY', 'OUTLET_FLOAT', c.id, 'CNY',"
    " now() FROM channels c, generate_series(0, :n) i WHERE c.code = :channel",
    "INSERT INTO outlets (channel_id, code, name, kind, region, status, low_threshold,"
    " float_account, created_at)"
    " SELECT a.channel_id, split_part(split_part(a.code, '.', 2), ':', 1), 'bench shop',"
    " 'shop', '360600', 'ACTIVE', 0, a.id, now() FROM ledger_accounts a"
    " WHERE a.kind = 'OUTLET_FLOAT'",
    "INSERT INTO outlet_floats SELECT id, :deposit, 0 FROM outlets",
    "INSERT INTO float_deposits (outlet_id, amount, bank_reference, source, recorded_by,"
    " recorded_at) SELECT id, :deposit, 'BENCH-' || code, 'OPERATOR', 'bench', now()"
    " FROM outlets",
    "SELECT ledger_post_float_deposit(now(), :bank, float_account, :deposit, 'BENCH-' || code)"
    " FROM outlets",
)


def signers(hot_terminals: int, outlets: int) -> dict[str, Signer]:
    def one_outlet(n: int) -> tuple[str, str]:
        terminal = _hot_terminal(n % hot_terminals)
        return terminal, _secret(terminal)

    def spread(n: int) -> tuple[str, str]:
        terminal = _spread_terminal(n % outlets + 1)
        return terminal, _secret(terminal)

    return {"channel": as_channel, "one_outlet": one_outlet, "spread": spread}
