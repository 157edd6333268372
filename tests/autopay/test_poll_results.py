"""What a poll of a mandate's account came to, as a pass of the engine counts it."""

from __future__ import annotations

from utilipay.autopay.poll import Polled, PollKind
from utilipay.billers.protocol.codes import Code


def test_a_poll_is_counted_by_its_kind_and_a_refusal_by_its_code() -> None:
    polls = [
        Polled(PollKind.UNANSWERED),
        Polled(PollKind.ANSWERED, code=Code.BUSY),
        Polled(PollKind.BASELINE),
        Polled(PollKind.NEW_BILLS, found=2),
        Polled(PollKind.NOTHING_NEW),
    ]
    assert [str(p) for p in polls] == [
        "unanswered",
        "answered 9999",
        "baseline",
        "new bills: 2",
        "nothing new",
    ]
