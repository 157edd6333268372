"""The Python load generator (used when wrk is not installed) says when it ran out of
signed requests before its deadline: its rate then covers a shorter run than asked."""

from __future__ import annotations

from pathlib import Path

from tests.tools.test_openloop import _server
from utilipay_tools.bench.loadgen import run


def _signed(directory: Path, count: int) -> Path:
    (directory / "path").write_text("/healthz")
    lines = "".join(f"1\tnonce-{n}\tsig\t\t{{}}\n" for n in range(count))
    (directory / "requests-1.tsv").write_text(lines)
    return directory


async def test_a_run_that_sent_every_signed_request_says_it_ran_out(tmp_path: Path) -> None:
    async with _server(answer_after=0) as port:
        summary = await run(f"http://127.0.0.1:{port}", _signed(tmp_path, 5), "WECHAT", 2, 30)
    assert summary["requests"] == 5 and summary["exhausted_threads"] == 1
    assert summary["duration_us"] < 30e6


async def test_a_run_that_reached_its_deadline_did_not(tmp_path: Path) -> None:
    # 2 connections, 10 ms an answer: about 40 of the 2,000 go out in 0.2 s
    async with _server(answer_after=0.01) as port:
        summary = await run(f"http://127.0.0.1:{port}", _signed(tmp_path, 2000), "WECHAT", 2, 0.2)
    assert 0 < summary["requests"] < 2000 and summary["exhausted_threads"] == 0
