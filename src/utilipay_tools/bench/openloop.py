"""An open-model (constant-rate) HTTP load generator, for ``utilipay bench latency``.

A closed-model tool (wrk, ``loadgen``) sends a connection's next request when the last
answer arrives: while the server stalls it is sent nothing, and the requests that would
have waited are never timed (coordinated omission). Here request ``i`` is due at
``start + i / rate`` whatever the answers do, and its latency runs from that due time:
waiting for a free connection because the server was slow counts. The time from the
actual send is kept too, to show what a closed-model tool would have reported, and so is
the generator's own lag (how late it handed each request out), to show it kept the
schedule.

Runs as its own process (``python -m utilipay_tools.bench.openloop``), on uvloop, so the
server under test does not share its interpreter; prints one JSON line. Percentiles are
exact (every sample is kept and sorted: a minute at 2,000/s is 120,000 integers).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from utilipay_tools.bench.loadgen import signed_requests

MIN_TICK_S = 0.001


@dataclass
class _Tally:
    from_due: list[int] = field(default_factory=list)  # µs, due time to whole answer
    from_send: list[int] = field(default_factory=list)  # µs, actual send to whole answer
    lag: list[int] = field(default_factory=list)  # µs, due time to handed out
    status_errors: int = 0
    socket_errors: int = 0  # connections lost, each with its request in flight
    last_answer: int = 0  # ns


def percentiles(samples: list[int]) -> dict[str, int]:
    """Nearest-rank p50/p90/p99/p99.9 and the maximum of ``samples`` (µs)."""
    ranked = sorted(samples)

    def rank(p: float) -> int:
        return ranked[max(math.ceil(p * len(ranked)) - 1, 0)] if ranked else 0

    return {
        "p50_us": rank(0.50),
        "p90_us": rank(0.90),
        "p99_us": rank(0.99),
        "p99_9_us": rank(0.999),
        "max_us": ranked[-1] if ranked else 0,
    }


def _answer_length(buffer: bytearray) -> int:
    """The length of the whole HTTP/1.1 answer at the start of ``buffer`` (the hub always
    sends Content-Length), or 0 while it has not all arrived."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return 0
    head = bytes(buffer[:head_end]).lower() + b"\r\n"
    at = head.find(b"content-length:")
    body = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
    whole = head_end + 4 + body
    return whole if len(buffer) >= whole else 0


class _Sender:
    """Hands due requests to idle connections; a request due while every connection is
    busy waits here, and that wait is part of its latency."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.tally = _Tally()
        self.idle: deque[_Connection] = deque()
        self.waiting: deque[tuple[int, bytes]] = deque()
        self.finished = asyncio.Event()
        self.handed_out = 0  # ns, when the last request went out so far

    def due(self, due: int, request: bytes) -> None:
        if self.idle:
            self.idle.pop().send(due, request)
        else:
            self.waiting.append((due, request))

    def answered(self, connection: _Connection) -> None:
        if self.waiting:
            connection.send(*self.waiting.popleft())
        else:
            self.idle.append(connection)
        self._check_finished()

    def lost(self, connection: _Connection, in_flight: bool) -> None:
        if connection in self.idle:
            self.idle.remove(connection)
        self.tally.socket_errors += in_flight
        self._check_finished()

    def _check_finished(self) -> None:
        if len(self.tally.from_due) + self.tally.socket_errors >= self.total:
            self.finished.set()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request in flight at a time."""

    transport: asyncio.WriteTransport  # once connected

    def __init__(self, sender: _Sender) -> None:
        self.sender, self.buffer = sender, bytearray()
        self.due = self.sent = 0  # of the request in flight; 0: none

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)  # a TCP connection's
        self.sender.idle.append(self)

    def send(self, due: int, request: bytes) -> None:
        self.due, self.sent = due, time.perf_counter_ns()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not (length := _answer_length(self.buffer)):
            return
        done, tally = time.perf_counter_ns(), self.sender.tally
        tally.from_due.append((done - self.due) // 1000)
        tally.from_send.append((done - self.sent) // 1000)
        tally.status_errors += int(self.buffer[9:12]) >= 400
        tally.last_answer = done
        del self.buffer[:length]
        self.due = 0
        self.sender.answered(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.sender.lost(self, in_flight=self.due != 0)
        self.due = 0


def _schedule(requests: list[bytes], rate: float, sender: _Sender) -> int:
    """Hand request ``i`` out at ``start + i / rate`` from timer callbacks; returns
    ``start`` (ns)."""
    loop = asyncio.get_running_loop()
    interval = 1e9 / rate
    start = time.perf_counter_ns()
    pending = iter(enumerate(requests))
    upcoming = next(pending, None)

    def tick() -> None:
        nonlocal upcoming
        now = time.perf_counter_ns()
        # The loop's timers count whole milliseconds and may fire early: everything due
        # by now goes out, late by up to a tick, and the lateness is recorded, not hidden.
        while upcoming is not None and (due := start + int(upcoming[0] * interval)) <= now:
            sender.tally.lag.append((now - due) // 1000)
            sender.due(due, upcoming[1])
            sender.handed_out = now
            upcoming = next(pending, None)
        if upcoming is not None:
            # uvloop takes a delay under 1 ms as 0: above 1,000 requests a second the
            # loop would spin, a core taken from the server under test (it did at
            # 2,000/s: 47-60 CPU-seconds a minute). A tick a millisecond at most instead.
            wait = (start + upcoming[0] * interval - now) / 1e9
            loop.call_later(max(wait, MIN_TICK_S), tick)

    tick()
    return start


async def run(
    host: str, port: int, requests: list[bytes], rate: float, connections: int, grace: float
) -> dict[str, Any]:
    """Send ``requests`` at ``rate`` a second over ``connections`` keep-alive connections;
    wait up to ``grace`` seconds past the schedule for the last answers."""
    loop = asyncio.get_running_loop()
    sender = _Sender(len(requests))
    opened = [
        (await loop.create_connection(lambda: _Connection(sender), host, port))[0]
        for _ in range(connections)
    ]
    cpu = time.process_time()
    start = _schedule(requests, rate, sender)
    with suppress(TimeoutError):
        await asyncio.wait_for(sender.finished.wait(), len(requests) / rate + grace)
    cpu = time.process_time() - cpu
    for transport in opened:
        transport.close()
    tally = sender.tally
    return {
        "offered_rate": rate,
        "requests": len(requests),
        "answered": len(tally.from_due),
        "status_errors": tally.status_errors,
        "socket_errors": tally.socket_errors,
        "duration_us": (max(tally.last_answer, start) - start) // 1000,
        "schedule_us": (sender.handed_out - start) // 1000,
        "latency": percentiles(tally.from_due),
        "service": percentiles(tally.from_send),
        "lag": percentiles(tally.lag),
        "generator_cpu_seconds": round(cpu, 3),
    }


def _requests(args: argparse.Namespace, host: str) -> list[bytes]:
    count = int(args.rate * args.seconds)
    if args.get:
        return [f"GET {args.get} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()] * count
    found = list(signed_requests(Path(args.directory), args.channel, host))
    if len(found) < count:
        raise SystemExit(f"{len(found)} signed requests in {args.directory}, {count} needed")
    return found[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="http://host:port")
    parser.add_argument("--rate", type=float, required=True, help="requests a second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait past it")
    parser.add_argument("--directory", help="pre-signed payment requests (bench payments')")
    parser.add_argument("--channel", default="")
    parser.add_argument("--get", help="a path to GET instead, e.g. /healthz")
    args = parser.parse_args()
    host, port = args.url.removeprefix("http://").split(":")
    requests = _requests(args, f"{host}:{port}")
    # What is built so far lives to the end; the collector's pauses would be the
    # generator's lag, not the server's latency, and a minute's garbage is small.
    gc.freeze()
    gc.disable()
    sending = run(host, int(port), requests, args.rate, args.connections, args.grace)
    try:
        import uvloop  # noqa: PLC0415 (uvicorn[standard]'s, on Linux; plain asyncio elsewhere)
    except ImportError:
        summary = asyncio.run(sending)
    else:
        summary = uvloop.run(sending)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
