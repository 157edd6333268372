"""The console speaks zh-CN by default, and English.

Templates and pages write English (``_("Payments")``); each zh-CN translation lives in a
TOML file of ``locale/zh-CN/`` (one per group of pages, so pages added side by side do
not edit one file). ``tests/console/test_i18n.py`` fails when a string a template or
page shows has no translation. A person picks the language with the switch on every
page (a cookie).
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Protocol

from starlette.requests import Request

COOKIE = "utilipay_lang"


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


DEFAULT = Locale.ZH_CN


CONSOLE = "utilipay.console"


def catalog(locale: Locale) -> dict[str, str]:
    """English → the locale's words (empty for English itself)."""
    return package_catalog(CONSOLE, locale)


@cache
def package_catalog(package: str, locale: Locale) -> dict[str, str]:
    """The catalog of a package of pages (the console, the payer pages) kept as the
    console keeps its own: one TOML file per group of pages in ``locale/<locale>/``."""
    if locale is Locale.EN:
        return {}
    merged: dict[str, str] = {}
    folder = resources.files(package) / "locale" / locale
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            merged.update(tomllib.loads(entry.read_text(encoding="utf-8")))
    return merged


def locale_of(request: Request) -> Locale:
    chosen = request.cookies.get(COOKIE)
    return Locale(chosen) if chosen in set(Locale) else DEFAULT


def words(text: str) -> str:
    """Marks English a page shows, written in Python rather than in a template, so the
    catalog test finds it (the template translates it where it is shown)."""
    return text


class Translate(Protocol):
    """English words in a locale, with ``{name}`` values put in."""

    def __call__(self, text: str, **values: object) -> str: ...


def translator(locale: Locale, package: str = CONSOLE) -> Translate:
    words = package_catalog(package, locale)

    def translate(text: str, **values: object) -> str:
        found = words.get(text, text)
        return found.format(**values) if values else found

    return translate
