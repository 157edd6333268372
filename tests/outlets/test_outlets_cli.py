"""The ``outlets``, ``terminals`` and ``operators`` commands and ``channels --kind``: what
they print (a terminal's secret once, alone on stdout), their JSON, their refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.outlets.helpers import AGENT_SECRET
from utilipay.cli import outlets as outlets_cli
from utilipay.cli.main import app
from utilipay.clock import FrozenClock
from utilipay.config import get_settings
from utilipay.db.engine import libpq_url


@pytest.fixture
def cli(
    db_url: URL, engine: AsyncEngine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("UTILIPAY_DATABASE_URL", libpq_url(db_url))
    monkeypatch.setenv("UTILIPAY_ACTOR", "ops-li")
    monkeypatch.setenv("UTILIPAY_CHANNEL_SECRET", AGENT_SECRET)
    monkeypatch.setattr(outlets_cli, "clock", clock)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str, code: int = 0) -> Any:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def test_an_agent_channels_outlet_terminal_operator_and_deposit(
    cli: CliRunner, engine: AsyncEngine
) -> None:
    invoke(cli, "channels", "add", "AGENT1", "--kind", "agent")
    listed = json.loads(invoke(cli, "channels", "list", "--json").stdout)
    assert [(c["code"], c["kind"], c["secrets"]) for c in listed] == [("AGENT1", "agent", 1)]
    assert AGENT_SECRET not in invoke(cli, "channels", "list", "--json").stdout
    added = invoke(cli, "outlets", "add", "--channel", "AGENT1", "--code", "SHOP-0001",
                   "--name", "东村小卖部", "--kind", "shop", "--region", "泉州市南安市",
                   "--low-threshold", "50000", "--owner-phone", "13905951234")  # fmt: skip
    assert "deposit reference FLOAT-AGENT1-SHOP-0001" in added.stdout
    issued = cli.invoke(app, ["terminals", "add", "--channel", "AGENT1", "--outlet",
                              "SHOP-0001", "--type", "pos_fixed",
                              "--label", "柜台POS"])  # fmt: skip
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip()
    assert len(secret) >= 40 and "\n" not in secret  # the secret alone on stdout
    [terminal] = json.loads(invoke(cli, "terminals", "list", "--json").stdout)
    assert secret not in json.dumps(terminal) and terminal["outlet"] == "AGENT1.SHOP-0001"
    rotated = invoke(cli, "terminals", "rotate", terminal["id"]).stdout.strip()
    assert rotated != secret
    assert "previous secret dropped" in invoke(
        cli, "terminals", "rotate", terminal["id"], "--drop-previous").stdout  # fmt: skip
    invoke(cli, "operators", "add", "--channel", "AGENT1", "--outlet", "SHOP-0001",
           "--code", "0001", "--name", "陈小红")  # fmt: skip
    invoke(cli, "operators", "disable", "--channel", "AGENT1", "--outlet", "SHOP-0001",
           "--code", "0001", "--reason", "left")  # fmt: skip
    operators = invoke(cli, "operators", "list", "--channel", "AGENT1", "--outlet", "SHOP-0001",
                       "--json").stdout  # fmt: skip
    assert json.loads(operators)[0]["status"] == "DISABLED"
    deposit = ["outlets", "deposit", "--channel", "AGENT1", "--outlet", "SHOP-0001",
               "--amount", "200000", "--bank-reference", "ICBC20261122000417",
               "--by", "ops-wang"]  # fmt: skip
    assert "deposit of 2,000.00 yuan" in invoke(cli, *deposit).stdout
    assert "was recorded already" in invoke(cli, *deposit, code=1).stderr
    [shop] = json.loads(invoke(cli, "outlets", "list", "--json").stdout)
    assert (shop["balance"], shop["available"], shop["low"]) == (200_000, 200_000, False)
    shown = json.loads(invoke(cli, "outlets", "show", "--channel", "AGENT1", "--outlet",
                              "SHOP-0001", "--json").stdout)  # fmt: skip
    assert (len(shown["terminals"]), len(shown["deposits"])) == (1, 1)
    assert "give the reason" in invoke(cli, "terminals", "revoke", terminal["id"], code=1).stderr
    invoke(cli, "terminals", "revoke", terminal["id"], "--reason", "stolen")
    assert json.loads(invoke(cli, "outlets", "list", "--low", "--json").stdout) == []
    matched = json.loads(invoke(cli, "outlets", "match-deposits", "--json").stdout)
    assert matched["count"] == 0


def test_refusals_say_what_is_wrong_and_write_nothing(cli: CliRunner, engine: AsyncEngine) -> None:
    invoke(cli, "channels", "add", "WECHAT")
    refused = invoke(cli, "outlets", "add", "--channel", "WECHAT", "--code", "S1", "--name",
                     "x", "--kind", "shop", "--region", "r", "--low-threshold", "0",
                     code=1)  # fmt: skip
    assert "channel WECHAT is of kind wallet" in refused.stderr
    assert "no terminal TX" in invoke(cli, "terminals", "rotate", "TX", code=1).stderr
    assert "no outlet S1" in invoke(cli, "outlets", "suspend", "--channel", "WECHAT",
                                    "--outlet", "S1", "--reason", "x", code=1).stderr  # fmt: skip
    invoke(cli, "outlets", "add", "--channel", "WECHAT", "--code", "S1", "--name", "x",
           "--kind", "kiosk", "--region", "r", "--low-threshold", "0", code=2)  # fmt: skip
    assert json.loads(invoke(cli, "outlets", "list", "--json").stdout) == []
