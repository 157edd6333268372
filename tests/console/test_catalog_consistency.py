"""One English word has one zh-CN translation: the catalog files of the page groups are
merged into one, so two files translating a word two ways would make one page show the
other's word (a word that means two things gets two English names instead)."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from importlib import resources


def test_no_word_is_translated_two_ways() -> None:
    folder = resources.files("utilipay.console") / "locale" / "zh-CN"
    seen: dict[str, dict[str, str]] = defaultdict(dict)
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            for english, chinese in tomllib.loads(entry.read_text(encoding="utf-8")).items():
                seen[english][entry.name] = chinese
    assert {w: f for w, f in seen.items() if len(set(f.values())) > 1} == {}
