"""When an account in arrears is first cut (``prepaid.cuts.first_cut_moment``, the time the
smart-payment page promises): never before the grace period after both the arrears and
the outage warning, at a moment the pass may cut, and at the first such moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from utilipay.prepaid.cuts import first_cut_moment, may_cut

MOMENTS = st.datetimes(
    min_value=datetime(2026, 9, 20), max_value=datetime(2027, 2, 20), timezones=st.just(UTC)
)  # across the National Day week and the Spring Festival
GRACE = st.integers(min_value=0, max_value=5 * 24).map(lambda h: timedelta(hours=h))


@settings(max_examples=200, deadline=None)
@given(arrears=MOMENTS, warned=MOMENTS, grace=GRACE)
def test_the_first_moment_the_pass_may_cut_after_the_grace(
    arrears: datetime, warned: datetime, grace: timedelta
) -> None:
    cut = first_cut_moment(arrears, warned, grace)
    earliest = max(arrears, warned) + grace
    assert cut >= earliest and may_cut(cut)
    # no moment the pass may cut lies between: checked every minute, and the step to the cut
    step = timedelta(minutes=1)
    moment = earliest
    while moment + step <= cut:
        assert not may_cut(moment), (moment, cut)
        moment += step
