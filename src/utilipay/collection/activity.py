"""The ``channel-mix`` report (how the money came: wallet, bank withholding, counter, agent
outlet, POS, voucher, auto-pay, prepaid top-up), the ``prepaid`` report (accounts by
state, top-ups, warning to cut, reconnections) and the ``autopay`` report (mandates,
debits taken, declined and skipped over the cap)."""

from __future__ import annotations

from utilipay.collection.schemas import Cell, Chart, Column, ReportTable, Series
from utilipay.collection.sums import NOTHING, Ask, Built, mean_days, rate, summed

MIX_CLASSES = ("wallet", "bank", "counter", "agent", "pos", "voucher", "autopay", "prepaid")
MIX_TITLES = {
    "wallet": "Wallet", "bank": "Bank withholding", "counter": "Counter",
    "agent": "Agent outlet", "pos": "POS", "voucher": "Voucher", "autopay": "Auto-pay",
    "prepaid": "Prepaid top-up",
}  # fmt: skip
PREPAID_STATES = ("NORMAL", "LOW", "ARREARS", "CUT")
PREPAID_ACTIVITY = {
    "topup": "Top-ups",
    "cut": "Cuts (mean days from the outage warning)",
    "reconnect": "Reconnections (mean days from decision to meter)",
}
MANDATES = {"mandate-signed": "Mandates signed", "mandate-cancelled": "Mandates cancelled"}
DEBIT_OUTCOMES = {
    "taken": "Debits taken",
    "declined": "Debits declined",
    "over-cap": "Debits skipped over the cap",
    "skipped": "Debits skipped (settled meanwhile)",
    "cancelled": "Debits cancelled",
}

Rows = tuple[tuple[Cell, ...], ...]
_WHAT = Column("what", "Measure", "text")
_COUNT = Column("count", "Count", "count")
_AMOUNT = Column("amount", "Amount", "fen")


class ChannelMix:
    COLUMNS = (
        Column("class", "Channel", "text"),
        _COUNT,
        _AMOUNT,
        Column("share", "Share of the amount", "percent"),
    )

    @staticmethod
    def table(rows: Rows) -> ReportTable:
        return ReportTable("channel-mix", "Payments by channel", ChannelMix.COLUMNS, rows)

    @staticmethod
    def empty(by: str | None) -> tuple[ReportTable, ...]:
        return (ChannelMix.table(()),)

    @staticmethod
    async def build(ask: Ask) -> Built:
        found = await ask.read(("payments",))
        sums = summed(found, lambda r: r.key)
        whole = sum(s[2] for s in sums.values())
        if not found:
            return (ChannelMix.table(()),), ()
        # payments voided in the period net to 0 in their class: shown as 0, not as a
        # period without figures, which would say no payment was made
        rows = tuple(
            (MIX_TITLES[c], sums.get(c, NOTHING)[0], sums.get(c, NOTHING)[2],
             rate(sums.get(c, NOTHING)[2], whole))
            for c in MIX_CLASSES
        )  # fmt: skip
        amounts = tuple(sums.get(c, NOTHING)[2] for c in MIX_CLASSES)
        if not whole:  # a pie of nothing
            return (ChannelMix.table(rows),), ()
        chart = Chart("channel-mix", "Amount by channel", "pie", "fen",
                      tuple(MIX_TITLES[c] for c in MIX_CLASSES),
                      (Series("Amount", amounts),))  # fmt: skip
        return (ChannelMix.table(rows),), (chart,)


class Prepaid:
    STATES = (Column("state", "State", "text"), Column("accounts", "Accounts", "count"))
    ACTIVITY = (_WHAT, _COUNT, _AMOUNT, Column("mean_days", "Mean days", "days"))

    @staticmethod
    def tables(states: Rows, activity: Rows) -> tuple[ReportTable, ...]:
        return (
            ReportTable("states", "Prepaid accounts by state", Prepaid.STATES, states),
            ReportTable("activity", "Top-ups, cuts and reconnections", Prepaid.ACTIVITY,
                        activity),
        )  # fmt: skip

    @staticmethod
    def empty(by: str | None) -> tuple[ReportTable, ...]:
        return Prepaid.tables((), ())

    @staticmethod
    async def build(ask: Ask) -> Built:
        found = await ask.read(("payments", "cut", "reconnect"))  # fmt: skip
        found += await ask.read(("prepaid-state",), ask.period.end, ask.period.end)
        states = summed((r for r in found if r.metric == "prepaid-state"), lambda r: r.key)
        by_metric = summed(found, lambda r: r.metric)
        top_ups = by_metric.get("topup", NOTHING)
        cuts = by_metric.get("cut", NOTHING)
        reconnects = by_metric.get("reconnect", NOTHING)
        activity: Rows = (
            (PREPAID_ACTIVITY["topup"], top_ups[0], top_ups[2], None),
            (PREPAID_ACTIVITY["cut"], cuts[0], None, mean_days(cuts[3], cuts[1])),
            (PREPAID_ACTIVITY["reconnect"], reconnects[0], None,
             mean_days(reconnects[3], reconnects[0])),
        )  # fmt: skip
        state_rows = tuple((s, states[s][0]) for s in PREPAID_STATES if s in states)
        if not any(row[1] for row in activity):
            activity = ()
        return Prepaid.tables(state_rows, activity), ()


class Autopay:
    @staticmethod
    def table(rows: Rows) -> ReportTable:
        return ReportTable("autopay", "Mandates and debits", (_WHAT, _COUNT, _AMOUNT), rows)

    @staticmethod
    def empty(by: str | None) -> tuple[ReportTable, ...]:
        return (Autopay.table(()),)

    @staticmethod
    async def build(ask: Ask) -> Built:
        found = await ask.read(("mandates", "debits"))  # fmt: skip
        sums = summed(found, lambda r: r.key if r.metric == "debit" else r.metric)
        rows: Rows = (
            *((title, sums.get(key, NOTHING)[0], None) for key, title in MANDATES.items()),
            *((title, sums.get(key, NOTHING)[0], sums.get(key, NOTHING)[2])
              for key, title in DEBIT_OUTCOMES.items()),
        )  # fmt: skip
        if not any(row[1] for row in rows):
            rows = ()
        return (Autopay.table(rows),), ()
