"""A report's chart as the configuration Chart.js takes (the console's vendored
``chart.umd.min.js``): the same labels and series, amounts in yuan.

Nothing is computed here but the unit: fen become yuan exactly (``Decimal``), and the
JSON text writes them as numbers, which is what Chart.js draws. A point without a figure
stays ``null``: Chart.js leaves a gap rather than drawing a zero that is not there.
"""

from __future__ import annotations

import json
from decimal import Decimal

from utilipay.collection.phrases import Translate, translated
from utilipay.collection.schemas import Chart, ChartKind, ChartUnit, Series
from utilipay.money import in_yuan

_TYPE: dict[ChartKind, str] = {"line": "line", "bar": "bar", "stacked-bar": "bar", "pie": "pie"}
# What the value axis counts, for its title (English; the console translates it)
UNIT_TITLE: dict[ChartUnit, str] = {
    "count": "Count",
    "fen": "Yuan",
    "percent": "Percent",
    "days": "Days",
}

Point = int | Decimal | None


def in_unit(value: int | Decimal | None, unit: ChartUnit) -> Point:
    """A figure as the chart shows it: fen as yuan, everything else as it is."""
    if value is None or unit != "fen":
        return value
    if not isinstance(value, int):
        raise TypeError(f"an amount in fen is a whole number, not {value!r}")
    return in_yuan(value)


def _dataset(series: Series, unit: ChartUnit, translate: Translate) -> dict[str, object]:
    return {"label": translate(series.label), "data": [in_unit(p, unit) for p in series.points]}


def _options(chart: Chart, translate: Translate) -> dict[str, object]:
    options: dict[str, object] = {
        "animation": False,
        "maintainAspectRatio": False,
        "plugins": {"title": {"display": True, "text": translate(chart.title)}},
    }
    if chart.kind == "pie":
        return options
    stacked = chart.kind == "stacked-bar"
    value_axis: dict[str, object] = {
        "beginAtZero": True,
        "stacked": stacked,
        "title": {"display": True, "text": translate(UNIT_TITLE[chart.unit])},
    }
    if chart.unit == "percent":
        value_axis["suggestedMax"] = 100
    options["scales"] = {"x": {"stacked": stacked}, "y": value_axis}
    return options


def identity(words: str) -> str:
    """English as it is: no translation."""
    return words


def chart_config(chart: Chart, translate: Translate = identity) -> dict[str, object]:
    """``new Chart(canvas, config)``'s config for this chart, its words through
    ``translate`` (the console's language)."""
    for series in chart.series:
        if len(series.points) != len(chart.labels):
            raise ValueError(
                f"chart {chart.key}: series {series.label!r} has {len(series.points)} points "
                f"for {len(chart.labels)} labels"
            )
    translate = translated(translate)
    return {
        "type": _TYPE[chart.kind],
        "data": {
            "labels": [translate(label) for label in chart.labels],
            "datasets": [_dataset(s, chart.unit, translate) for s in chart.series],
        },
        "options": _options(chart, translate),
    }


def _number(value: object) -> object:
    if isinstance(value, Decimal):
        # JSON has one kind of number; a yuan amount's two places survive the trip
        # (the shortest text of the nearest double is those same digits)
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


# Inside <script>, "</script>" or "<!--" in a label would end or bend the block
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def config_json(chart: Chart, translate: Translate = identity) -> str:
    """The config as JSON text, safe inside a ``<script type="application/json">`` block
    (as Jinja's ``tojson`` escapes it)."""
    text = json.dumps(chart_config(chart, translate), default=_number, ensure_ascii=False)
    return text.translate(_SCRIPT_SAFE)
