"""The documentation a clone carries: its links resolve inside the repository, and the
channel contract documents every problem code the hub answers, with its status."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from utilipay.errors import ErrorCode
from utilipay.http.problems import status_of

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CONTRACTS = ("channel-api", "biller-protocol", "head-end-protocol")
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
# A contract cited with its section numbers: "<contract>.md §3", "… §8-§9", "… §7, §9 and §10".
_CITATION = re.compile(
    r"(" + "|".join(CONTRACTS) + r")\.md[`)\]]*\s*§\s*(\d+(?:\s*(?:-|,|and)\s*§?\s*\d+)*)"
)
_PROBLEM_ROW = re.compile(r"^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|", re.M)


def _prose(text: str) -> str:
    """The Markdown without code blocks and code spans, where a link is not a link."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _targets(page: Path) -> list[str]:
    prose = _prose(page.read_text(encoding="utf-8"))
    return _INLINE_LINK.findall(prose) + _REFERENCE.findall(prose)


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: Counter[str] = Counter()
    anchors = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = _slug(heading)
        anchors.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return anchors


def _broken(page: Path, target: str) -> str | None:
    """Why ``target``, linked from ``page``, does not lead anywhere in this repository."""
    if "shared/specs" in target:
        return "points to the shared specifications, which a clone does not have"
    if _EXTERNAL.match(target):
        return None
    path_part, _, anchor = target.partition("#")
    resolved = (page.parent / path_part).resolve() if path_part else page
    if not resolved.is_relative_to(ROOT):
        return "points outside the repository"
    if not resolved.exists():
        return "points to a file that does not exist"
    if anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
        return f"names a heading #{anchor} that {resolved.name} does not have"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_to_a_file_of_the_repository(page: Path) -> None:
    broken = [f"{t}: {why}" for t in _targets(page) if (why := _broken(page, t)) is not None]
    assert broken == [], f"{page.relative_to(ROOT)} has broken links"


def test_the_contracts_are_in_the_repository() -> None:
    for contract in CONTRACTS:
        assert (DOCS / f"{contract}.md").is_file()


def _sections(contract: str) -> set[int]:
    text = (DOCS / f"{contract}.md").read_text(encoding="utf-8")
    return {int(n) for n in re.findall(r"^## (\d+)\. ", text, re.M)}


def test_every_cited_section_exists() -> None:
    """Code, tests and pages cite contracts by section number; each such section exists."""
    sections = {contract: _sections(contract) for contract in CONTRACTS}
    sources = [*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py"), *PAGES]
    missing = [
        f"{source.relative_to(ROOT)}: {contract}.md §{number}"
        for source in sources
        for contract, numbers in _CITATION.findall(source.read_text(encoding="utf-8"))
        for number in map(int, re.findall(r"\d+", numbers))
        if number not in sections[contract]
    ]
    assert missing == []


def test_the_channel_contract_lists_every_problem_code_with_its_status() -> None:
    text = (DOCS / "channel-api.md").read_text(encoding="utf-8")
    documented = {code: int(status) for code, status in _PROBLEM_ROW.findall(text)}
    assert {code: documented.get(code) for code in ErrorCode} == {
        code: status_of(code) for code in ErrorCode
    }
    assert set(documented) <= set(ErrorCode), "a documented code the hub does not have"


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    """The checks above can fail: each kind of broken link is told apart from a good one."""
    page = DOCS / "channel-api.md"
    assert _broken(page, "biller-protocol.md#6-daily-statement--对账单") is None
    assert _broken(page, "../README.md#contracts") is None
    assert _broken(page, "https://example.com/x.md") is None
    assert _broken(page, "no-such-page.md") == "points to a file that does not exist"
    assert _broken(page, "../../outside.md") == "points outside the repository"
    assert _broken(page, "../../shared/specs/channel-api.md") is not None
    assert "does not have" in (_broken(page, "#no-such-heading") or "")
    sample = tmp_path / "sample.md"
    sample.write_text(
        '[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n[d]: w.md\n![e](img.png "t")\n',
        encoding="utf-8",
    )
    assert _targets(sample) == ["x.md", "img.png", "w.md"]
