"""A small HTTP/1.1 keep-alive load generator, used when ``wrk`` is not installed.

Runs as its own process (``python -m utilipay_tools.bench.loadgen``) so the server
under test does not share its interpreter; replays the same pre-signed request
files as the wrk script (or, with ``--get``, one GET again and again) and prints the
same JSON summary.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def signed_requests(directory: Path, channel: str, host: str) -> Iterator[bytes]:
    """The pre-signed requests in ``directory``'s files, as raw HTTP/1.1 bytes."""
    target = (directory / "path").read_text().strip()
    for path in sorted(directory.glob("requests-*.tsv")):
        for line in path.read_text().splitlines():
            ts, nonce, sig, terminal, body = line.split("\t", 4)
            data = body.encode()
            signed_by = f"X-Utilipay-Terminal: {terminal}\r\n" if terminal else ""
            head = (
                f"POST {target} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                f"X-Utilipay-Channel: {channel}\r\nX-Utilipay-Timestamp: {ts}\r\n"
                f"X-Utilipay-Nonce: {nonce}\r\nX-Utilipay-Signature: {sig}\r\n{signed_by}\r\n"
            )
            yield head.encode() + data


async def _connection(
    host: str, port: int, work: Iterator[bytes], deadline: float, latencies: list[int]
) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection(host, port)
    status_errors = socket_errors = 0
    try:
        for request in work:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter_ns()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter_ns() - started) // 1000)
            status_errors += status >= 400
    except (OSError, asyncio.IncompleteReadError):
        socket_errors += 1
    finally:
        writer.close()
    return status_errors, socket_errors


async def run(
    url: str, directory: Path, channel: str, connections: int, seconds: float
) -> dict[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return await replay(url, signed_requests(directory, channel, f"{host}:{port}"),
                        connections, seconds)  # fmt: skip


async def replay(
    url: str, work: Iterator[bytes], connections: int, seconds: float
) -> dict[str, int]:
    """``work``'s requests sent over ``connections`` for ``seconds``: the summary wrk's
    script prints."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[int] = []
    started = time.monotonic()
    results = await asyncio.gather(
        *(
            _connection(host, int(port), work, started + seconds, latencies)
            for _ in range(connections)
        )
    )
    duration = int((time.monotonic() - started) * 1e6)
    latencies.sort()

    def pct(p: float) -> int:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else 0

    return {
        "requests": len(latencies),
        "duration_us": duration,
        "status_errors": sum(r[0] for r in results),
        "socket_errors": sum(r[1] for r in results),
        "p50_us": pct(0.50),
        "p90_us": pct(0.90),
        "p99_us": pct(0.99),
        "max_us": latencies[-1] if latencies else 0,
        # every signed request sent before the deadline: the run was shorter than asked
        "exhausted_threads": int(next(work, None) is None),
    }


if __name__ == "__main__":
    if sys.argv[1] == "--get":  # one GET of a path, again and again (``bench http``)
        target, path, conns, secs = sys.argv[2:6]
        request = f"GET {path} HTTP/1.1\r\nHost: {target.removeprefix('http://')}\r\n\r\n"
        work = itertools.repeat(request.encode())
        summary = asyncio.run(replay(target, work, int(conns), float(secs)))
    else:
        target, folder, code, conns, secs = sys.argv[1:6]
        summary = asyncio.run(run(target, Path(folder), code, int(conns), float(secs)))
    print(json.dumps(summary))
