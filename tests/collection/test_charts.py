"""A report's chart as Chart.js's configuration: the same labels and figures, amounts in
yuan, gaps kept, stacked bars stacked, and JSON safe inside a script block."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.collection.sample import channel_mix_report, collection_report
from utilipay.collection.charts import chart_config, config_json
from utilipay.collection.schemas import Chart, Series


def _config(chart: Chart) -> Any:
    """The config as the page gives it to Chart.js."""
    return json.loads(config_json(chart), parse_float=Decimal)


def test_amounts_in_fen_are_drawn_in_yuan_exactly() -> None:
    amounts = collection_report().charts[1]
    config = _config(amounts)
    assert config["type"] == "bar"
    assert config["data"]["labels"] == ["北京自来水 东城", "北京自来水 西城"]
    billed, collected = config["data"]["datasets"]
    assert billed == {"label": "Billed", "data": [Decimal("1234567.89"), Decimal("5000.00")]}
    assert collected["data"] == [Decimal("1200000.00"), Decimal("0.00")]
    assert config["options"]["scales"]["y"]["title"]["text"] == "Yuan"
    assert config["options"]["scales"]["y"]["stacked"] is False


def test_the_json_carries_the_same_numbers_and_the_gaps() -> None:
    progress = collection_report().charts[0]
    parsed = json.loads(config_json(progress), parse_float=Decimal)
    this_month, last_month = parsed["data"]["datasets"]
    assert parsed["type"] == "line"
    assert this_month["data"][:3] == [3, 6, 9]  # percentages as they are: no unit change
    assert last_month["data"][-1] is None  # no figure: a gap, not a zero
    assert parsed["options"]["scales"]["y"]["suggestedMax"] == 100
    amounts = json.loads(config_json(collection_report().charts[1]), parse_float=Decimal)
    assert amounts["data"]["datasets"][0]["data"] == [Decimal("1234567.89"), Decimal("5000.0")]


def test_a_pie_has_no_axes_and_stacked_bars_stack() -> None:
    pie = _config(channel_mix_report().charts[0])
    assert pie["type"] == "pie" and "scales" not in pie["options"]
    assert pie["data"]["datasets"][0]["data"] == [Decimal("45000.00"), Decimal("25000.50")]
    stacked = Chart("s", "Stacked", "stacked-bar", "count", ("a",), (Series("x", (1,)),))
    scales = _config(stacked)["options"]["scales"]
    assert scales["x"]["stacked"] is True and scales["y"]["stacked"] is True
    assert _config(stacked)["type"] == "bar"


def test_text_cannot_end_the_script_block() -> None:
    hostile = Chart(
        "h", "</script><script>alert(1)</script>", "bar", "count", ("<!--",), (Series("&", (1,)),)
    )
    text = config_json(hostile)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["options"]["plugins"]["title"]["text"].startswith("</script>")


def test_a_series_that_does_not_fit_its_labels_is_refused() -> None:
    broken = Chart("b", "Broken", "line", "count", ("1", "2"), (Series("x", (1,)),))
    with pytest.raises(ValueError, match="1 points for 2 labels"):
        chart_config(broken)


def test_an_amount_that_is_not_whole_fen_is_refused() -> None:
    broken = Chart("b", "Broken", "bar", "fen", ("1",), (Series("x", (Decimal("1.5"),)),))
    with pytest.raises(TypeError, match="whole number"):
        chart_config(broken)
