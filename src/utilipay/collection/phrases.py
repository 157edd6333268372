"""A report's words that carry a figure (a note's days, a chart's month), as English
templates: filled where the report is made, and translated by recognising the template,
so a catalog holds one line per template, not one per date.

The catalog's line keeps the template's ``{names}``: ``"no figures in {start}..{end}" =
"{start}至{end}无数据"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Translate = Callable[[str], str]

NO_FIGURES = "no figures in {start}..{end}"
CLIPPED = "clipped to {start}..{end}, the days there are figures for"
PROGRESS = "Collection progress, {month}"
AGING_AT = "Arrears by days past due, {day}"
TEMPLATES = (NO_FIGURES, CLIPPED, PROGRESS, AGING_AT)

_NAME = re.compile(r"\{(\w+)\}")


def _pattern(template: str) -> re.Pattern[str]:
    parts = _NAME.split(template)  # literal, name, literal, name, …
    return re.compile(
        "".join(re.escape(p) if n % 2 == 0 else f"(?P<{p}>[0-9-]+)" for n, p in enumerate(parts))
    )


_PATTERNS = tuple((template, _pattern(template)) for template in TEMPLATES)


def translated(translate: Translate) -> Translate:
    """``translate`` that also knows the templates' filled words."""

    def say(words: str) -> str:
        for template, pattern in _PATTERNS:
            if found := pattern.fullmatch(words):
                return translate(template).format(**found.groupdict())
        return translate(words)

    return say
