"""A server process keeps what its start-up built out of the garbage collector's full
passes (``web/app.py``: ``freeze_start_up``), whose pauses were the latency's tail, and
gives it back at shutdown."""

from __future__ import annotations

import gc

from sqlalchemy.engine import URL

from utilipay.web.app import create_app


async def test_start_up_freezes_what_it_built_and_only_a_server_of_its_own_does(
    db_url: URL,
) -> None:
    gc.unfreeze()
    app = create_app(url=db_url)
    try:
        async with app.fastapi.router.lifespan_context(app.fastapi):
            frozen = gc.get_freeze_count()
            hub = app.fastapi.state.hub
            assert hub is not None
        thawed = gc.get_freeze_count()  # shut down: back to the collector
    finally:
        gc.unfreeze()  # the test process's objects back to the collector, whatever happened
    assert frozen > 100_000  # the libraries, the app, the hub: what lives as long as it
    assert thawed == 0

    given = create_app(hub=hub)  # a hub passed in (the tests' servers): theirs to manage
    async with given.fastapi.router.lifespan_context(given.fastapi):
        assert gc.get_freeze_count() == 0
