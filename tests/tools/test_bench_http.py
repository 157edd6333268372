"""``utilipay bench http``: both protocols serve the payment-sized answer, and the figures
are per request, from the server process and the load generator."""

from __future__ import annotations

import httpx

from utilipay.web.server import free_port
from utilipay_tools.bench import http


def test_both_protocols_answer_and_are_measured_per_request() -> None:
    result = http.run(rounds=1, seconds=1, connections=4, say=lambda _: None)
    assert [r.protocol for r in result.runs] == ["httptools", "hub"]
    for r in result.runs:
        assert r.requests > 100 and r.per_second == round(r.requests / 1, 1)
        assert 0 < r.server_system_us < r.server_us  # CPU a request, not a total
        assert r.client_us > 0
    figures = result.as_json()
    assert figures["valid"] and not figures["faults"]
    ratio = figures["hub_over_httptools"]["server_us"]
    medians = figures["medians"]
    assert ratio == round(medians["hub"]["server_us"] / medians["httptools"]["server_us"], 3)


def test_the_answer_is_whole_over_the_hubs_protocol() -> None:
    port = free_port()
    server = http._serve("hub", port)
    try:
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/payments", content=b"{}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert answer.status_code == 200 and answer.content == http.ANSWER
    assert len(answer.content) == 340  # a payment's answer is about as long
