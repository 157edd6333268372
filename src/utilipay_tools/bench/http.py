"""``utilipay bench http``: what the HTTP layer costs a request, uvicorn's httptools
protocol against the hub's (``web/protocol.py``: each response in one write).

Both serve the same answer, the size of a payment's, from a bare ASGI app, so the figures
are the protocol's and the socket's alone; they alternate round by round on the same
machine, and each run's CPU is read from the server process (``/proc``, through psutil)
and from the load generator (its rusage as a child). The ratio that matters is CPU per
request, not requests a second: the load generator shares the cores.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import psutil
from starlette.types import Receive, Scope, Send

from utilipay.web.server import free_port
from utilipay_tools.bench.payments import machine
from utilipay_tools.processes import SERVE_PROTOCOL, wait_until_listening

PROTOCOLS = {"httptools": "httptools", "hub": SERVE_PROTOCOL}
# as long as a payment's answer (a 201 of ``POST /v1/payments`` in the tests: 339 bytes)
ANSWER = b'{"id":"' + b"0" * 26 + b'","status":"SUCCEEDED","pad":"' + b"x" * 275 + b'"}'
_WRK_REQUESTS = re.compile(r"(\d+) requests in")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer, to any request (lifespan ignored)."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": ANSWER})


@dataclass(frozen=True)
class ProtocolRun:
    protocol: str
    requests: int
    per_second: float
    server_us: float  # the server process's CPU (user + system) per request
    server_system_us: float
    client_us: float  # the load generator's CPU per request


@dataclass(frozen=True)
class HttpBenchResult:
    machine: dict[str, str]
    load_generator: str
    connections: int
    seconds: int
    runs: list[ProtocolRun]

    def median(self, protocol: str, field: Callable[[ProtocolRun], float]) -> float:
        values = sorted(field(r) for r in self.runs if r.protocol == protocol)
        return values[len(values) // 2]

    @property
    def faults(self) -> list[str]:
        return [f"{r.protocol}: no request answered" for r in self.runs if r.requests == 0]

    def medians(self) -> dict[str, dict[str, float]]:
        return {
            name: {
                "server_us": self.median(name, lambda r: r.server_us),
                "client_us": self.median(name, lambda r: r.client_us),
            }
            for name in PROTOCOLS
        }

    def hub_over_httptools(self) -> dict[str, float]:
        """The medians' ratios: what the hub's protocol costs a request, per httptools'."""
        return _ratios(self.medians())

    def as_json(self) -> dict[str, Any]:
        medians = self.medians()
        return {
            "machine": self.machine,
            "load_generator": self.load_generator,
            "connections": self.connections,
            "seconds": self.seconds,
            "runs": [asdict(r) for r in self.runs],
            "medians": medians,
            "hub_over_httptools": _ratios(medians),
            "valid": not self.faults,
            "faults": self.faults,
        }


def _ratios(medians: dict[str, dict[str, float]]) -> dict[str, float]:
    return {
        key: round(medians["hub"][key] / medians["httptools"][key], 3)
        for key in ("server_us", "client_us")
    }


def _serve(protocol: str, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", f"{__name__}:app", "--port", str(port),
        "--loop", "uvloop", "--http", PROTOCOLS[protocol], "--lifespan", "off",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command)
    try:
        wait_until_listening(port, lambda: server.poll() is None, f"uvicorn over {protocol}")
    except RuntimeError:
        server.kill()
        raise
    return server


def _load(port: int, connections: int, seconds: int) -> tuple[int, float]:
    """Requests answered, and the generator's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    url = f"http://127.0.0.1:{port}"
    if wrk := shutil.which("wrk"):
        command = [wrk, "-t", "1", "-c", str(connections), "-d", f"{seconds}s", url + "/"]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        match = _WRK_REQUESTS.search(out)
        requests = int(match.group(1)) if match else 0
    else:
        command = [sys.executable, "-m", "utilipay_tools.bench.loadgen", "--get", url, "/",
                   str(connections), str(seconds)]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        requests = int(json.loads(out.strip().splitlines()[-1])["requests"])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return requests, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _one(protocol: str, connections: int, seconds: int) -> ProtocolRun:
    port = free_port()
    server = _serve(protocol, port)
    try:
        process = psutil.Process(server.pid)
        before = process.cpu_times()
        requests, client = _load(port, connections, seconds)
        after = process.cpu_times()
    finally:
        server.terminate()
        server.wait(timeout=30)
    system = after.system - before.system
    total = after.user - before.user + system
    per = 1e6 / max(requests, 1)
    return ProtocolRun(
        protocol, requests, round(requests / seconds, 1), round(total * per, 1),
        round(system * per, 1), round(client * per, 1),
    )  # fmt: skip


def run(
    rounds: int, seconds: int, connections: int, say: Callable[[str], Any] = print
) -> HttpBenchResult:
    runs: list[ProtocolRun] = []
    for n in range(1, rounds + 1):
        for protocol in PROTOCOLS:
            say(f"round {n}/{rounds}: {protocol} for {seconds} s …")
            runs.append(_one(protocol, connections, seconds))
    generator = "wrk" if shutil.which("wrk") else "utilipay_tools.bench.loadgen (wrk not installed)"
    return HttpBenchResult(machine(), generator, connections, seconds, runs)
