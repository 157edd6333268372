"""The open-model generator times each request from when it was due, so a slow server's
queue shows in the latency instead of being omitted (coordinated omission), and it keeps
its schedule against a server that keeps up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvloop

from utilipay_tools.bench.latency import OpenLoad, Percentiles
from utilipay_tools.bench.openloop import _schedule, _Sender, percentiles, run

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@asynccontextmanager
async def _server(answer_after: float) -> AsyncIterator[int]:
    """A keep-alive HTTP server answering each request ``answer_after`` seconds after it
    reads it, one at a time per connection; yields its port."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(answer_after)
                writer.write(ANSWER[:-2])  # the body in a second segment, as it may arrive
                await writer.drain()
                writer.write(ANSWER[-2:])
        except asyncio.IncompleteReadError:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_a_server_slower_than_the_rate_shows_its_queue_in_the_latency() -> None:
    # One connection, 100 requests/s offered, 20 ms an answer: it serves 50/s, so the
    # last requests wait about half a second past their due times.
    async with _server(answer_after=0.02) as port:
        summary = await run("127.0.0.1", port, [REQUEST] * 50, 100, connections=1, grace=5)
    load = OpenLoad.parse(summary)
    assert load.answered == 50 and load.status_errors == load.socket_errors == 0
    assert load.service.p99_us < 60_000  # what a closed-model tool would report
    assert load.latency.max_us > 300_000  # what a payer waited
    assert load.achieved_rate < 60


async def test_against_a_server_that_keeps_up_the_schedule_is_kept() -> None:
    async with _server(answer_after=0) as port:
        summary = await run("127.0.0.1", port, [REQUEST] * 100, 200, connections=8, grace=5)
    load = OpenLoad.parse(summary)
    assert load.answered == 100 and load.unanswered == 0
    assert 0.45e6 < load.schedule_us < 0.6e6  # 100 at 200/s: the last due at 0.495 s
    assert load.achieved_rate > 150


async def test_requests_no_connection_answers_are_counted_unanswered() -> None:
    async with _server(answer_after=10) as port:
        summary = await run("127.0.0.1", port, [REQUEST] * 4, 100, connections=2, grace=0.2)
    assert OpenLoad.parse(summary).unanswered == 4


def test_percentiles_are_nearest_rank() -> None:
    samples = list(range(1, 1001))  # 1..1000 µs, shuffled order does not matter
    assert percentiles(samples[::-1]) == {
        "p50_us": 500, "p90_us": 900, "p99_us": 990, "p99_9_us": 999, "max_us": 1000,
    }  # fmt: skip
    assert percentiles([]) == dict.fromkeys(Percentiles.__dataclass_fields__, 0)


async def _hand_out(count: int, rate: float) -> tuple[_Sender, float]:
    """Hand ``count`` requests out at ``rate`` to no connection (they queue); the CPU time
    the schedule took."""
    sender = _Sender(count)
    cpu = time.process_time()
    _schedule([REQUEST] * count, rate, sender)
    await asyncio.sleep(count / rate + 0.05)  # the schedule, and a tick past its end
    return sender, time.process_time() - cpu


def test_above_a_thousand_a_second_the_schedule_does_not_spin() -> None:
    # uvloop takes a timer under 1 ms as 0: a tick at each request's due time, every
    # 0.25 ms here, spun the loop for the whole schedule (a core taken from the server).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sender, cpu = runner.run(_hand_out(1_200, 4_000))  # 0.3 s of schedule
    assert len(sender.waiting) == 1_200
    assert cpu < 0.1  # spinning: about 0.3 s
